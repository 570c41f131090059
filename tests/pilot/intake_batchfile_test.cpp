// Batch files (Intake::submit_batch_file) and the pilot's InboxReader: one
// file for many submissions, each id owned by the first batch that links it
// in ledger/, run once whatever repeats it, a batch moved to accepted/ once
// each entry it owns has its run; a writer killed between its batch and its
// ledger links loses nothing (the reader links them), and a later batch
// repeating those ids runs none of them again.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <set>

#include "../support/scratch_dir.hpp"
#include "intake_fixture.hpp"
#include "pilot/intake.hpp"
#include "pilot/intake_batch.hpp"

namespace beamflow::pilot {
namespace {

namespace fsys = std::filesystem;
using test_intake::count;
using test_intake::kFlow;

std::vector<Intake::Item> items(int from, int to) {
  std::vector<Intake::Item> out;
  for (int i = from; i < to; ++i) out.push_back({kFlow, {{"i", i}}, "file-" + std::to_string(i)});
  return out;
}

TEST(IntakeBatchFile, OneFileManyLinksAndEachIdOwnedOnce) {
  test::ScratchDir scratch;
  const fsys::path dir = scratch.path() / "pilot";
  Intake intake(dir);
  const auto first = intake.submit_batch_file(items(0, 300));
  for (const auto& o : first) {
    ASSERT_FALSE(o.error);
    EXPECT_FALSE(o.existed);
    EXPECT_FALSE(o.run_id.empty());
  }
  EXPECT_EQ(count(dir / "inbox"), 1u);  // one file, whatever the batch's size
  EXPECT_EQ(count(dir / "ledger"), 300u);
  // Overlapping ids: 200..299 are the first batch's, 300..399 are new; a
  // repeat within the batch answers as its first.
  auto second_items = items(200, 400);
  second_items.push_back({kFlow, {{"i", 399}}, "file-399"});
  const auto second = intake.submit_batch_file(second_items);
  for (int k = 0; k < 100; ++k) EXPECT_TRUE(second[k].existed) << k;
  for (int k = 100; k < 200; ++k) EXPECT_FALSE(second[k].existed) << k;
  EXPECT_TRUE(second[200].existed);
  EXPECT_EQ(second[200].run_id, second[199].run_id);
  EXPECT_EQ(count(dir / "inbox"), 2u);
  EXPECT_EQ(count(dir / "ledger"), 400u);
  EXPECT_TRUE(intake.handed_over("file-399"));
  EXPECT_FALSE(intake.handed_over("file-400"));

  const auto all = list_submissions(dir);
  std::set<std::string> ids, runs;
  for (const auto& s : all) {
    ids.insert(s.submission_id);
    runs.insert(s.run_id);
  }
  EXPECT_EQ(all.size(), 400u);
  EXPECT_EQ(ids.size(), 400u);
  EXPECT_EQ(runs.size(), 400u);
  EXPECT_EQ(pending(dir).ready.size(), 400u);
  const auto s250 = find_submission(dir, "file-250");
  ASSERT_TRUE(s250);
  EXPECT_EQ(s250->input["i"], 250);
  EXPECT_EQ(s250->run_id, first[250].run_id);  // the owner's entry, not the repeat's
  EXPECT_EQ(s250->definition, *kFlow);
}

// RLIMIT_NOFILE set so that `spare` more descriptors can be opened (none
// below the lowest free one is free), restored when it goes.
class Descriptors {
 public:
  explicit Descriptors(int spare) {
    EXPECT_EQ(::getrlimit(RLIMIT_NOFILE, &m_old), 0);
    const int lowest = ::dup(0);
    EXPECT_GE(lowest, 0);
    ::close(lowest);
    struct rlimit lowered = m_old;
    lowered.rlim_cur = static_cast<rlim_t>(lowest + spare);
    EXPECT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
  }
  ~Descriptors() { ::setrlimit(RLIMIT_NOFILE, &m_old); }

 private:
  struct rlimit m_old {};
};

// Descriptors run out for a moment (a pilot with many runs open): a look
// that cannot list inbox/, or cannot open a file it lists, throws nothing
// and loses nothing: the next look reads what this one could not, the
// submission file and the batch both (the pilot stopped on the first and
// never read the second again).
TEST(IntakeBatchFile, ALookWithoutDescriptorsLosesNothingAndTheNextReadsIt) {
  test::ScratchDir scratch;
  const fsys::path dir = scratch.path() / "pilot";
  Intake intake(dir);
  intake.submit_batch_file(items(0, 5));
  submit(dir, *kFlow, {{"single", true}}, "single");
  InboxReader reader(dir);
  for (const int spare : {0, 1}) {  // 0: inbox/ cannot be listed; 1: listed, its files cannot be opened
    Pending p;
    {
      const Descriptors limit(spare);
      EXPECT_NO_THROW(p = reader.fresh());
    }
    EXPECT_TRUE(p.ready.empty()) << spare;
    EXPECT_TRUE(p.bad.empty()) << spare << ": " << p.bad.front();  // not refused: read again
    ASSERT_FALSE(p.later.empty()) << spare;
    for (const auto& why : p.later) EXPECT_NE(why.find("Too many open files"), std::string::npos) << why;
  }
  std::set<std::string> ids;
  for (const auto& s : reader.fresh().ready) ids.insert(s.submission_id);
  EXPECT_EQ(ids.size(), 6u);  // the 5 batch entries and the file
  EXPECT_TRUE(ids.count("single"));
  EXPECT_TRUE(reader.fresh().ready.empty());  // and each once
}

TEST(IntakeBatchFile, TheReaderRunsOwnedEntriesOnceAndMovesACompleteBatch) {
  test::ScratchDir scratch;
  const fsys::path dir = scratch.path() / "pilot";
  Intake intake(dir);
  intake.submit_batch_file(items(0, 50));
  submit(dir, *kFlow, {{"single", true}}, "single");  // a submission file beside it
  intake.submit_batch_file(items(40, 60));           // 40..49 are duplicates

  InboxReader reader(dir);
  const Pending p = reader.fresh();
  EXPECT_TRUE(p.bad.empty());
  std::set<std::string> ids;
  for (const auto& s : p.ready) EXPECT_TRUE(ids.insert(s.submission_id).second) << s.submission_id;
  EXPECT_EQ(ids.size(), 61u);  // 60 batch entries, each once, and the file
  EXPECT_TRUE(reader.fresh().ready.empty());  // each file read once
  const auto s7 = reader.find("file-7");
  ASSERT_TRUE(s7);
  EXPECT_EQ(s7->input["i"], 7);
  EXPECT_EQ(s7->definition, *kFlow);

  // Accepting every entry of a batch moves it, and only then.
  for (int i = 0; i < 49; ++i) reader.accepted("file-" + std::to_string(i));
  EXPECT_EQ(count(dir / "accepted", ".batch"), 0u);
  reader.accepted("file-49");
  reader.accepted("file-49");  // idempotent
  EXPECT_EQ(count(dir / "accepted", ".batch"), 1u);
  reader.accepted("single");
  EXPECT_TRUE(fsys::exists(dir / "accepted" / "single.json"));
  for (int i = 50; i < 60; ++i) reader.accepted("file-" + std::to_string(i));
  EXPECT_EQ(count(dir / "accepted", ".batch"), 2u);
  EXPECT_EQ(count(dir / "inbox"), 0u);
  // Still found, and still owned, after the move.
  EXPECT_EQ(find_submission(dir, "file-45")->input["i"], 45);
  EXPECT_EQ(list_submissions(dir).size(), 61u);
}

// A batch read when every entry it owns has its run (a restarted pilot)
// moves to accepted/ at once; one that cannot be moved (here accepted/
// holds a directory of its name) is named in `unmoved`, not refused: its
// entries are handed on, and it stays in inbox/ for the next pilot to move.
TEST(IntakeBatchFile, ACompleteBatchThatCannotBeMovedIsNotRefused) {
  test::ScratchDir scratch;
  const fsys::path dir = scratch.path() / "pilot";
  Intake intake(dir);
  const auto out = intake.submit_batch_file(items(0, 3));
  for (const auto& o : out) test_intake::make_run(dir, o.run_id);
  std::string batch;
  for (const auto& e : fsys::directory_iterator(dir / "inbox")) batch = e.path().filename().string();
  fsys::create_directories(dir / "accepted" / batch / "in-the-way");
  InboxReader reader(dir);
  const Pending p = reader.fresh();
  EXPECT_EQ(p.ready.size(), 3u);
  EXPECT_TRUE(p.bad.empty()) << p.bad.front();
  EXPECT_TRUE(p.later.empty()) << p.later.front();
  ASSERT_EQ(p.unmoved.size(), 1u);
  EXPECT_EQ(p.unmoved[0].rfind("inbox/" + batch + ": cannot move the batch to accepted/", 0), 0u) << p.unmoved[0];
  EXPECT_TRUE(fsys::exists(dir / "inbox" / batch));
}

TEST(IntakeBatchFile, AWriterKilledBeforeItsLinksLosesNothingAndALaterRepeatRunsNothingTwice) {
  test::ScratchDir scratch;
  const fsys::path dir = scratch.path() / "pilot";
  Intake intake(dir);
  intake.submit_batch_file(items(0, 20));
  // As if the writer died after its batch was durable in inbox/, before
  // its ledger links: remove them.
  for (int i = 0; i < 20; ++i) fsys::remove(dir / "ledger" / ("file-" + std::to_string(i)));
  EXPECT_FALSE(intake.handed_over("file-3"));
  // Its submissions still wait, and the reader claims them.
  EXPECT_EQ(pending(dir).ready.size(), 20u);
  InboxReader reader(dir);
  EXPECT_EQ(reader.fresh().ready.size(), 20u);
  EXPECT_EQ(count(dir / "ledger"), 20u);
  // A watcher's rescan hands the same files over again: all already owned.
  const auto again = intake.submit_batch_file(items(0, 20));
  for (const auto& o : again) EXPECT_TRUE(o.existed);
  EXPECT_TRUE(reader.fresh().ready.empty());  // the repeat's batch owns nothing
  EXPECT_EQ(list_submissions(dir).size(), 20u);
  // The repeat batch owns nothing: it moves to accepted/ as soon as it is read.
  EXPECT_EQ(count(dir / "inbox", ".batch"), 1u);
}

}  // namespace
}  // namespace beamflow::pilot
