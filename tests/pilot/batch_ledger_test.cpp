// A trigger watcher's batch ledger (pilot::BatchLedger, format 2 batch
// files): a batch is its own ledger entry (no link per id), one writer per
// pilot directory (its lock), every id handed over known from memory (old
// ledgers, submission files and format 1 batches included), ids in the
// watcher's namespace refused by the other hand-offs, and each id owned by
// one batch entry whatever kills the writer, at any instant.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "../support/expect_error.hpp"
#include "../support/process.hpp"
#include "../support/scratch_dir.hpp"
#include "intake_fixture.hpp"
#include "pilot/intake.hpp"
#include "pilot/intake_batch.hpp"

namespace beamflow::pilot {
namespace {

namespace fsys = std::filesystem;
using test_intake::count;
using test_intake::kFlow;
using test_intake::wid;

std::vector<Intake::Item> witems(int from, int to) {
  std::vector<Intake::Item> out;
  for (int i = from; i < to; ++i) out.push_back({kFlow, {{"i", i}}, wid(i)});
  return out;
}


// The side effects: for each id, how many batch entries own it (the
// submissions a pilot would run).
std::map<std::string, int> owned(const fsys::path& dir) {
  std::map<std::string, int> out;
  for (const auto& s : list_submissions(dir)) ++out[s.submission_id];
  // list_submissions lists an id once: count the entries of every batch
  // that owns it again from the files, so a second owner shows.
  std::map<std::string, int> entries;
  for (const char* sub : {"inbox", "accepted"})
    for (const auto& e : fsys::directory_iterator(dir / sub)) {
      if (e.path().extension() != ".batch") continue;
      std::ifstream in(e.path());
      std::string line;
      std::getline(in, line);
      const int version = Json::parse(line)["beamflow_batch"].get<int>();
      while (std::getline(in, line)) {
        const std::string id = Json::parse(line)["submission_id"].get<std::string>();
        const fsys::path link = dir / "ledger" / id;
        std::error_code ec;
        const bool mine = fsys::exists(link, ec) ? fsys::equivalent(link, e.path()) : version == 2;
        entries[id] += mine;
      }
    }
  for (const auto& [id, n] : entries)
    if (n != 1) out[id] = n;
  return out;
}

TEST(BatchLedger, ABatchIsItsOwnLedgerEntryWithNoLinkPerId) {
  test::ScratchDir scratch;
  const fsys::path dir = scratch.path() / "pilot";
  BatchLedger ledger(dir);
  const auto first = ledger.submit(witems(0, 300));
  for (const auto& o : first) {
    ASSERT_FALSE(o.error) << o.error->what();
    EXPECT_FALSE(o.existed);
    EXPECT_FALSE(o.run_id.empty());
  }
  EXPECT_EQ(count(dir / "inbox", ".batch"), 1u);
  EXPECT_EQ(count(dir / "ledger"), 0u);  // no link per id
  {
    std::ifstream in(fsys::directory_iterator(dir / "inbox")->path());
    std::string header;
    std::getline(in, header);
    EXPECT_EQ(Json::parse(header)["beamflow_batch"], 2) << header;
  }
  // Overlapping ids: known from memory, not written again; a repeat within
  // the batch answers as its first.
  auto second_items = witems(200, 400);
  second_items.push_back({kFlow, {{"i", 399}}, wid(399)});
  const auto second = ledger.submit(second_items);
  for (int k = 0; k < 100; ++k) EXPECT_TRUE(second[k].existed) << k;
  for (int k = 100; k < 200; ++k) EXPECT_FALSE(second[k].existed) << k;
  EXPECT_TRUE(second[200].existed);
  EXPECT_EQ(second[200].run_id, second[199].run_id);
  EXPECT_TRUE(ledger.handed_over(wid(399)));
  EXPECT_FALSE(ledger.handed_over(wid(400)));
  // All handed over before: no batch at all.
  EXPECT_TRUE(ledger.submit(witems(0, 10))[3].existed);
  EXPECT_EQ(count(dir / "inbox", ".batch"), 2u);

  // Every reader takes a format 2 batch's entries as owned.
  const auto all = owned(dir);
  EXPECT_EQ(all.size(), 400u);
  for (const auto& [id, n] : all) ASSERT_EQ(n, 1) << id;
  EXPECT_EQ(pending(dir).ready.size(), 400u);
  const auto s250 = find_submission(dir, wid(250));
  ASSERT_TRUE(s250);
  EXPECT_EQ(s250->run_id, first[250].run_id);
  EXPECT_TRUE(is_submitted(dir, wid(250)));
  EXPECT_FALSE(is_submitted(dir, wid(400)));
  InboxReader reader(dir);
  EXPECT_EQ(reader.fresh().ready.size(), 400u);
  EXPECT_EQ(count(dir / "ledger"), 0u);  // the reader links nothing either
  for (int i = 0; i < 400; ++i) reader.accepted(wid(i));
  EXPECT_EQ(count(dir / "accepted", ".batch"), 2u);
  EXPECT_EQ(find_submission(dir, wid(7))->input["i"], 7);  // found after the move
  // A pilot's start: entries in accepted/ without their run are found.
  const auto without = accepted_without_run(dir, [](const std::string& id) { return id != wid(5); });
  ASSERT_EQ(without.ready.size(), 1u);
  EXPECT_EQ(without.ready[0].submission_id, wid(5));
}

TEST(BatchLedger, OneWriterPerPilotDirectoryAndTheNextKnowsWhatTheLastHandedOver) {
  test::ScratchDir scratch;
  const fsys::path dir = scratch.path() / "pilot";
  {
    BatchLedger ledger(dir);
    ledger.submit(witems(0, 50));
    test::expect_error([&] { BatchLedger second(dir); }, "pilot.ledger.locked", {"watcher.lock"});
    // Another process too (flock is per open file, so a fork's own open).
    EXPECT_EQ(test::run_in_child([&] {
                try {
                  BatchLedger other(dir);
                } catch (const Error& e) {
                  return e.id() == "pilot.ledger.locked" ? 0 : 1;
                }
                return 2;
              }),
              0);
  }
  BatchLedger next(dir);
  EXPECT_EQ(next.size(), 50u);
  for (const auto& o : next.submit(witems(0, 60)))
    EXPECT_EQ(o.existed, o.submission_id < wid(50)) << o.submission_id;
  EXPECT_EQ(owned(dir).size(), 60u);
}

TEST(BatchLedger, OldLedgersAndSubmissionFilesAreKnownAtStart) {
  test::ScratchDir scratch;
  const fsys::path dir = scratch.path() / "pilot";
  {
    Intake intake(dir);
    intake.submit_batch_file({{kFlow, {{"i", 1}}, "old-1"}, {kFlow, {{"i", 2}}, "old-2"}});  // format 1, linked
    intake.submit_batch_file({{kFlow, {{"i", 3}}, "old-3"}});
    fsys::remove(dir / "ledger" / "old-3");  // its writer died before linking it
    submit(dir, *kFlow, {{"file", true}}, "old-file");
  }
  BatchLedger ledger(dir);
  for (const char* id : {"old-1", "old-2", "old-3", "old-file"}) EXPECT_TRUE(ledger.handed_over(id)) << id;
  const auto again = ledger.submit({{kFlow, {{"i", 1}}, "old-1"},
                                    {kFlow, {{"i", 3}}, "old-3"},
                                    {kFlow, {{"file", true}}, "old-file"},
                                    {kFlow, {{"i", 4}}, "new-4"}});
  EXPECT_TRUE(again[0].existed && again[1].existed && again[2].existed);
  EXPECT_FALSE(again[3].existed);
  const auto all = owned(dir);
  for (const auto& [id, n] : all) EXPECT_LE(n, 1) << id;
  // old-3 is the format 1 batch's to claim (a pilot's reader links it).
  InboxReader reader(dir);
  std::set<std::string> ids;
  for (const auto& s : reader.fresh().ready) EXPECT_TRUE(ids.insert(s.submission_id).second) << s.submission_id;
  EXPECT_EQ(ids, (std::set<std::string>{"old-1", "old-2", "old-3", "old-file", "new-4"}));
}

TEST(BatchLedger, TheWatchersIdsAreRefusedByEveryOtherHandOff) {
  test::ScratchDir scratch;
  const fsys::path dir = scratch.path() / "pilot";
  EXPECT_TRUE(is_watcher_id(wid(1)));
  EXPECT_TRUE(is_watcher_id("beamline.t1733480000000"));
  for (const char* id : {"plain", "a.f123", "a.t", ".t1", "a.fzz000000000000000000000000000000", "a.t12x", "run.t2"})
    EXPECT_FALSE(is_watcher_id(id)) << id;
  test::expect_error([&] { submit(dir, *kFlow, {{"i", 1}}, wid(1)); }, "pilot.submission.id", {"watcher"});
  Intake intake(dir);
  const auto batch = intake.submit_batch_file({{kFlow, {{"i", 1}}, wid(1)}, {kFlow, {{"i", 2}}, "mine"}});
  ASSERT_TRUE(batch[0].error);
  EXPECT_EQ(batch[0].error->id(), "pilot.submission.id");
  EXPECT_FALSE(batch[1].error);
  const auto files = intake.submit({{kFlow, {{"i", 1}}, "reg.t1733480000000"}});
  ASSERT_TRUE(files[0].error);
  EXPECT_EQ(files[0].error->id(), "pilot.submission.id");
  // The watcher's own hand-off takes them.
  BatchLedger ledger(dir);
  EXPECT_FALSE(ledger.submit({{kFlow, {{"i", 1}}, wid(1)}})[0].error);
}

TEST(BatchLedger, ThreadsRacingOneIdHandItOverOnce) {
  test::ScratchDir scratch;
  const fsys::path dir = scratch.path() / "pilot";
  BatchLedger ledger(dir);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) ledger.submit(witems(round * 10 + t, round * 10 + t + 40));
    });
  for (auto& t : threads) t.join();
  const auto all = owned(dir);
  EXPECT_EQ(all.size(), static_cast<std::size_t>(19 * 10 + 3 + 40));
  for (const auto& [id, n] : all) ASSERT_EQ(n, 1) << id;
}

// Files of at most `bytes` for this process while it lives (SIGXFSZ
// ignored: a write past it fails with EFBIG instead of killing the test).
class SmallFiles {
 public:
  explicit SmallFiles(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &m_old);
    m_signal = ::signal(SIGXFSZ, SIG_IGN);
    rlimit small = m_old;
    small.rlim_cur = bytes;
    m_set = ::setrlimit(RLIMIT_FSIZE, &small) == 0;
  }
  ~SmallFiles() {
    ::setrlimit(RLIMIT_FSIZE, &m_old);
    ::signal(SIGXFSZ, m_signal);
  }
  bool set() const { return m_set; }

 private:
  rlimit m_old{};
  sighandler_t m_signal = SIG_DFL;
  bool m_set = false;
};

// A batch whose file cannot be written hands none of its ids over and
// leaves none claimed: a claim left in flight would make the next batch of
// those ids wait for ever, one settled as handed over would lose them.
TEST(BatchLedger, ABatchThatCannotBeWrittenLeavesItsIdsToTheNext) {
  test::ScratchDir scratch;
  const fsys::path dir = scratch.path() / "pilot";
  BatchLedger ledger(dir);
  ASSERT_FALSE(ledger.submit(witems(0, 2))[0].error);
  {
    const SmallFiles small(8);
    ASSERT_TRUE(small.set());
    test::expect_error([&] { ledger.submit(witems(1, 5)); }, "pilot.dir.io", {"cannot write"});
  }
  EXPECT_EQ(ledger.size(), 2u);
  EXPECT_FALSE(ledger.handed_over(wid(2)));
  const auto again = ledger.submit(witems(1, 5));
  EXPECT_TRUE(again[0].existed);  // handed over by the first batch
  for (std::size_t i = 1; i < again.size(); ++i) EXPECT_FALSE(again[i].existed || again[i].error) << i;
  EXPECT_EQ(ledger.size(), 5u);
  const auto all = owned(dir);
  EXPECT_EQ(all.size(), 5u);
  for (const auto& [id, n] : all) EXPECT_EQ(n, 1) << id;
}

// The writer is killed (SIGKILL) at a different instant each round, in the
// middle of its batches; the next one hands every id over again, as a
// restarted watcher's rescan does. Counted in the files: each id owned by
// exactly one batch entry, none missing.
TEST(BatchLedger, AWriterKilledAtAnyInstantLeavesEachIdOwnedOnce) {
  test::ScratchDir scratch;
  const fsys::path dir = scratch.path() / "pilot";
  constexpr int kIds = 3000;
  for (int round = 0; round < 12; ++round) {
    const int base = round * kIds;
    test::Process writer = test::Process::fork([&] {
      BatchLedger ledger(dir);
      for (int from = base; from < base + kIds; from += 25) ledger.submit(witems(from, from + 25));
      return 0;
    });
    ::usleep(static_cast<useconds_t>(2000 + round * 3000));
    writer.kill(SIGKILL);
    writer.wait();
    BatchLedger next(dir);  // the lock is free once the writer is dead
    for (int from = base; from < base + kIds; from += 700) next.submit(witems(from, std::min(base + kIds, from + 700)));
  }
  const auto all = owned(dir);
  EXPECT_EQ(all.size(), static_cast<std::size_t>(12 * kIds));
  for (const auto& [id, n] : all) ASSERT_EQ(n, 1) << id;
}

}  // namespace
}  // namespace beamflow::pilot
