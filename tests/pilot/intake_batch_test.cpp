// The batched hand-off (pilot::Intake): a batch answers each item as
// submit() would (fresh, already handed over, repeated in the batch, a
// conflict, a bad id), writes the same files, races with other batches on
// shared ids without duplicates, and never shows a half-written entry, even
// to a reader that watches while the submitter is killed.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <map>
#include <set>

#include "../support/process.hpp"
#include "../support/scratch_dir.hpp"
#include "core/json_parse.hpp"
#include "pilot/intake.hpp"
#include "platform/fs.hpp"

namespace beamflow::pilot {
namespace {

namespace fsys = std::filesystem;

const auto kFlow = std::make_shared<const Json>(
    Json{{"StartAt", "P"}, {"States", {{"P", {{"Type", "Pass"}, {"End", true}}}}}});

std::vector<std::string> names(const fsys::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fsys::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(IntakeBatch, EachItemIsAnsweredAsSubmitWouldAnswerIt) {
  test::ScratchDir scratch;
  const fsys::path dir = scratch.path() / "pilot";
  const std::string before = submit(dir, *kFlow, {{"i", -1}}, "before").run_id;
  const std::string moved = submit(dir, *kFlow, {{"i", -2}}, "moved").run_id;
  mark_accepted(dir, "moved");

  Intake intake(dir);
  std::vector<Intake::Item> batch;
  for (int i = 0; i < 600; ++i) batch.push_back({kFlow, {{"i", i}}, "item-" + std::to_string(i)});
  batch.push_back({kFlow, {{"i", -1}}, "before"});   // 600: in inbox/ already
  batch.push_back({kFlow, {{"i", -2}}, "moved"});    // 601: accepted already
  batch.push_back({kFlow, {{"i", 7}}, "item-7"});    // 602: a repeat in this batch
  batch.push_back({kFlow, {{"i", 8}}, "item-9"});    // 603: a repeat with other input
  batch.push_back({kFlow, {{"i", 0}}, "before"});    // 604: a used id with other input
  batch.push_back({kFlow, {{"i", 0}}, "../escape"}); // 605: not an id
  batch.push_back({kFlow, {{"i", 0}}, ""});          // 606: a fresh id
  const auto out = intake.submit(batch);
  ASSERT_EQ(out.size(), batch.size());

  std::set<std::string> runs;
  for (int i = 0; i < 600; ++i) {
    ASSERT_FALSE(out[i].error) << out[i].error->what();
    EXPECT_FALSE(out[i].existed);
    EXPECT_EQ(out[i].submission_id, "item-" + std::to_string(i));
    runs.insert(out[i].run_id);
  }
  EXPECT_EQ(runs.size(), 600u);  // a run id each
  EXPECT_TRUE(out[600].existed);
  EXPECT_EQ(out[600].run_id, before);
  EXPECT_TRUE(out[601].existed);
  EXPECT_EQ(out[601].run_id, moved);
  EXPECT_TRUE(out[602].existed);
  EXPECT_EQ(out[602].run_id, out[7].run_id);
  ASSERT_TRUE(out[603].error);
  EXPECT_EQ(out[603].error->id(), "pilot.submission.conflict");
  ASSERT_TRUE(out[604].error);
  EXPECT_EQ(out[604].error->id(), "pilot.submission.conflict");
  EXPECT_NE(std::string(out[604].error->what()).find(before), std::string::npos) << out[604].error->what();
  ASSERT_TRUE(out[605].error);
  EXPECT_EQ(out[605].error->id(), "pilot.submission.id");
  ASSERT_FALSE(out[606].error);
  EXPECT_FALSE(out[606].existed);
  EXPECT_FALSE(out[606].submission_id.empty());

  // The files are what submit() writes: the pilot reads every one, nothing
  // bad, no temporary left.
  const Pending p = pending(dir);
  EXPECT_TRUE(p.bad.empty()) << p.bad.front();
  ASSERT_EQ(p.ready.size(), 602u);  // 600 + "before" + the fresh one
  std::map<std::string, Submission> by_id;
  for (const auto& s : p.ready) by_id[s.submission_id] = s;
  const Submission& s7 = by_id.at("item-7");
  EXPECT_EQ(s7.run_id, out[7].run_id);
  EXPECT_EQ(s7.definition, *kFlow);
  EXPECT_EQ(s7.input, (Json{{"i", 7}}));
  EXPECT_EQ(s7.uid, static_cast<std::int64_t>(::geteuid()));
  EXPECT_EQ(fs::read_file(dir / "inbox" / "item-7.json"), s7.to_json().dump());
  for (const auto& n : names(dir / "inbox")) EXPECT_NE(n.front(), '.') << n;

  // The same batch again: every item already handed over, same run ids.
  const auto again = intake.submit(std::vector<Intake::Item>(batch.begin(), batch.begin() + 600));
  for (int i = 0; i < 600; ++i) {
    EXPECT_TRUE(again[i].existed);
    EXPECT_EQ(again[i].run_id, out[i].run_id);
  }
  EXPECT_EQ(pending(dir).ready.size(), 602u);
}

// Trust answers an id already handed over without reading its file (a
// trigger's id names its content); Verify reads it.
TEST(IntakeBatch, TrustAnswersAHandedOverIdWithoutReadingIt) {
  test::ScratchDir scratch;
  const fsys::path dir = scratch.path() / "pilot";
  Intake intake(dir);
  std::ofstream(dir / "accepted" / "seen.json") << "{ unreadable";
  const std::vector<Intake::Item> batch{{kFlow, {{"i", 1}}, "seen"}, {kFlow, {{"i", 2}}, "new"}};
  const auto trusted = intake.submit(batch, Intake::Existing::Trust);
  EXPECT_FALSE(trusted[0].error);
  EXPECT_TRUE(trusted[0].existed);
  EXPECT_TRUE(trusted[0].run_id.empty());
  EXPECT_FALSE(trusted[1].existed);
  EXPECT_TRUE(intake.handed_over("new"));
  const auto verified = intake.submit(batch);
  ASSERT_TRUE(verified[0].error);
  EXPECT_EQ(verified[0].error->id(), "pilot.submission.invalid");
  EXPECT_EQ(verified[1].run_id, trusted[1].run_id);
}

// 4 processes submit 10 batches of 50 each; half of each batch's ids are
// shared by every process. Each id is handed over once, with one run id.
TEST(IntakeBatch, ConcurrentBatchesLoseNothingAndDuplicateNothing) {
  test::ScratchDir scratch;
  const fsys::path dir = scratch.path() / "pilot";
  prepare_pilot_dir(dir);
  const int procs = 4, batches = 10, each = 50;
  std::vector<test::Process> children;
  for (int p = 0; p < procs; ++p) {
    children.push_back(test::Process::fork([&, p] {
      Intake intake(dir);
      std::ofstream log(scratch.path() / ("ids." + std::to_string(p)));
      for (int b = 0; b < batches; ++b) {
        std::vector<Intake::Item> batch;
        for (int i = 0; i < each; ++i) {
          const std::string id = (i % 2 == 0) ? "shared-" + std::to_string(b) + "-" + std::to_string(i)
                                              : "p" + std::to_string(p) + "-" + std::to_string(b) + "-" +
                                                    std::to_string(i);
          batch.push_back({kFlow, {{"b", b}, {"i", i}}, id});
        }
        for (const auto& o : intake.submit(batch)) {
          if (o.error) return 1;
          log << o.submission_id << " " << o.run_id << "\n";
        }
      }
      return 0;
    }));
  }
  for (auto& child : children) ASSERT_EQ(child.wait().exit_code, 0);
  const std::size_t shared = batches * each / 2, priv = procs * batches * each / 2;
  EXPECT_EQ(pending(dir).ready.size(), shared + priv);
  std::map<std::string, std::set<std::string>> runs_of;
  for (int p = 0; p < procs; ++p) {
    std::ifstream in(scratch.path() / ("ids." + std::to_string(p)));
    std::string id, run;
    while (in >> id >> run) runs_of[id].insert(run);
  }
  EXPECT_EQ(runs_of.size(), shared + priv);
  for (const auto& [id, set] : runs_of) EXPECT_EQ(set.size(), 1u) << id;
  for (const auto& n : names(dir / "inbox")) EXPECT_NE(n.front(), '.') << n;
}

// A submitter killed (SIGKILL) in the middle of its batches leaves only
// whole submissions under inbox/ (its temporaries, hidden, at most), and a
// batch submitted again afterwards hands over the rest once.
TEST(IntakeBatch, AKilledSubmitterLeavesNoHalfWrittenEntry) {
  test::ScratchDir scratch;
  const fsys::path dir = scratch.path() / "pilot";
  prepare_pilot_dir(dir);
  // Big inputs, so a kill often lands inside a batch's writes.
  const Json big = Json(std::string(8000, 'x'));
  auto batch_of = [&](int b) {
    std::vector<Intake::Item> batch;
    for (int i = 0; i < 50; ++i)
      batch.push_back({kFlow, {{"pad", big}, {"i", i}}, "b" + std::to_string(b) + "-" + std::to_string(i)});
    return batch;
  };
  test::Process child = test::Process::fork([&] {
    Intake intake(dir);
    for (int b = 0;; b = (b + 1) % 20) intake.submit(batch_of(b));
    return 0;
  });
  // Kill it once some batches are in: while it writes the next ones.
  while (names(dir / "inbox").size() < 120) {
    ASSERT_EQ(::waitpid(child.pid(), nullptr, WNOHANG), 0) << "the submitter ended early";
    const Pending p = pending(dir);  // a reader racing the writer never sees a torn file
    ASSERT_TRUE(p.bad.empty()) << p.bad.front();
  }
  child.kill(SIGKILL);
  child.wait();
  const Pending p = pending(dir);
  EXPECT_TRUE(p.bad.empty()) << p.bad.front();
  for (const auto& s : p.ready) EXPECT_EQ(s.input["pad"], big) << s.submission_id;
  // Submitting every batch again: the rest handed over, the rest only once.
  Intake intake(dir);
  for (int b = 0; b < 20; ++b)
    for (const auto& o : intake.submit(batch_of(b))) ASSERT_FALSE(o.error) << o.error->what();
  std::size_t whole = 0;
  for (const auto& n : names(dir / "inbox")) whole += n.front() != '.';
  EXPECT_EQ(whole, 20u * 50u);
  EXPECT_EQ(pending(dir).ready.size(), 20u * 50u);
}

}  // namespace
}  // namespace beamflow::pilot
