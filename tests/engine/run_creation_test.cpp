// A run's creation (RunDirectory::create): a directory left by a creation cut
// short (no whole first commit in its journal) is taken over with a fresh
// journal; a run given a SyncGroup asks it once per journal commit (its
// creation becomes durable with the first) and never fsyncs on its own, and
// a resume asks it once more for what it found, before acting on it; a
// new run keeps its definition and input in its journal (layout 2), and runs
// of layout 1 (definition.json and input.json) still list and resume.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <set>
#include <vector>

#include "engine_support.hpp"
#include "journal/format.hpp"
#include "journal/journal.hpp"
#include "platform/sync_group.hpp"
#include "run/run_store.hpp"

namespace beamflow {
namespace {

const char* kFlow = R"({"StartAt":"A","States":{"A":{"Type":"Task","Resource":"echo","End":true}}})";

TEST(RunCreation, ADirectoryCutShortBeforeItsDefinitionIsTakenOverWithAFreshJournal) {
  test::ScratchDir scratch;
  const auto dir = scratch.path() / "r1";
  std::filesystem::create_directories(dir);
  {
    // What a crash after the journal's link and before definition.json
    // leaves: a journal (here with a record that was never acted on).
    auto w = journal::Writer::create(dir / "journal", journal::Durability::None);
    w.append(1, {1, 2, 3});
    w.commit();
  }
  std::ofstream(dir / "input.json") << "{}\n";  // what layout 1 wrote first
  EXPECT_FALSE(run::RunDirectory::exists(scratch.path(), "r1"));
  run::Engine engine(test::builtin_registry());
  auto o = test::fast_options(scratch.path(), "r1");
  o.durability = journal::Durability::Fsync;
  const auto r = engine.start(Json::parse(kFlow), Json::object(), o);
  EXPECT_EQ(r.status, run::RunStatus::Succeeded);
  const auto h = run::read_history(dir / "journal");
  ASSERT_FALSE(h.events.empty());
  EXPECT_EQ(h.events.front().type, run::RecordType::RunStarted);  // the stale record is gone
  EXPECT_FALSE(std::filesystem::exists(dir / "input.json"));
}

// A pilot's runs write no status.json (RunOptions::status_at_start and
// status_at_end false): a run is summarized from its lock (RUNNING while
// held) and its journal: flow and start from its RunStarted, its end from its
// RunEnded. A run that writes status.json and loses it reads the same.
TEST(RunCreation, ARunWithoutStatusJsonIsSummarizedFromItsLockAndItsJournal) {
  for (const bool pilot : {true, false}) {
    SCOPED_TRACE(pilot ? "no status.json (a pilot's run)" : "status.json at start and end");
    test::ScratchDir scratch;
    run::Engine engine(test::builtin_registry());
    auto o = test::fast_options(scratch.path(), "r1");
    o.flow_file = "the-flow.json";
    o.status_at_start = o.status_at_end = !pilot;
    bool looked = false;
    o.on_started = [&] {
      looked = true;
      EXPECT_EQ(std::filesystem::exists(scratch.path() / "r1" / "status.json"), !pilot);
      const auto s = run::summarize_run(scratch.path(), "r1");
      ASSERT_TRUE(s);
      EXPECT_EQ(s->status, "RUNNING");  // our own lock is held
      EXPECT_EQ(s->flow, "the-flow.json");
      EXPECT_EQ(s->started.size(), 24u) << s->started;  // 2026-12-04T06:30:00.123Z
    };
    ASSERT_EQ(engine.start(Json::parse(kFlow), Json::object(), o).status, run::RunStatus::Succeeded);
    EXPECT_TRUE(looked);
    EXPECT_EQ(std::filesystem::exists(scratch.path() / "r1" / "status.json"), !pilot);
    const auto s = run::summarize_run(scratch.path(), "r1");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->status, "SUCCEEDED");
    EXPECT_EQ(s->flow, "the-flow.json");
    EXPECT_EQ(s->ended.size(), 24u) << s->ended;
    std::filesystem::remove(scratch.path() / "r1" / "status.json");
    const auto from_journal = run::summarize_run(scratch.path(), "r1");
    EXPECT_EQ(from_journal->to_json(), s->to_json());
  }
}

// The layout's crash safety: a pilot's run killed at any instant (its
// journal cut at any byte, nobody holding its lock) is ended only when its
// journal's whole commits end with RunEnded, else INTERRUPTED (resumed by the
// next pilot); while a process holds its lock it is RUNNING even with its
// RunEnded written (its driver lets the lock go once that commit is durable).
// A FAILED end carries its error; a journal longer than a summary's head
// makes the run write status.json, and without it is read whole.
TEST(RunCreation, ARunWithoutStatusJsonEndsOnlyWithItsRunEndedCommittedAndNoDriver) {
  test::ScratchDir scratch;
  run::Engine engine(test::builtin_registry());
  const Json failing = Json::parse(
      R"({"StartAt":"A","States":{"A":{"Type":"Task","Resource":"echo","Next":"F"},)"
      R"("F":{"Type":"Fail","Error":"Oops.Bad","Cause":"on purpose"}}})");
  auto o = test::fast_options(scratch.path(), "full");
  o.status_at_start = o.status_at_end = false;
  ASSERT_EQ(engine.start(failing, Json::object(), o).status, run::RunStatus::Failed);
  const auto full = scratch.path() / "full";
  ASSERT_FALSE(std::filesystem::exists(full / "status.json"));
  const auto ended = run::summarize_run(scratch.path(), "full");
  ASSERT_TRUE(ended);
  EXPECT_EQ(ended->status, "FAILED");
  EXPECT_EQ(ended->error, (Json{{"error", "Oops.Bad"}, {"cause", "on purpose"}}));
  const auto records = journal::read_journal(full / "journal").records;
  ASSERT_GT(records.size(), 2u);
  ASSERT_EQ(records.back().type, static_cast<std::uint16_t>(run::RecordType::RunEnded));
  const auto size = std::filesystem::file_size(full / "journal");
  const auto cut = scratch.path() / "cut";
  for (std::uint64_t at = records.front().offset + 1; at <= size; ++at) {
    std::filesystem::remove_all(cut);
    std::filesystem::create_directories(cut);
    std::filesystem::copy_file(full / "journal", cut / "journal");
    std::filesystem::resize_file(cut / "journal", at);
    const auto s = run::summarize_run(scratch.path(), "cut");
    if (!s) continue;  // no whole first commit: a creation cut short, not a run
    EXPECT_EQ(s->status, at == size ? "FAILED" : "INTERRUPTED") << "cut at byte " << at << " of " << size;
    if (at == size) {
      auto lock = fs::FileLock::try_acquire(cut / "lock");
      ASSERT_TRUE(lock);
      EXPECT_EQ(run::summarize_run(scratch.path(), "cut")->status, "RUNNING");
    }
  }

  // Longer than a summary's head: status.json at the end; without it, the
  // whole journal is read.
  auto big = test::fast_options(scratch.path(), "big");
  big.status_at_start = big.status_at_end = false;
  const Json input = {{"pad", std::string(run::kSummaryHeadBytes, 'x')}};
  ASSERT_EQ(engine.start(Json::parse(kFlow), input, big).status, run::RunStatus::Succeeded);
  EXPECT_TRUE(std::filesystem::exists(scratch.path() / "big" / "status.json"));
  std::filesystem::remove(scratch.path() / "big" / "status.json");
  EXPECT_EQ(run::summarize_run(scratch.path(), "big")->status, "SUCCEEDED");
}

TEST(RunCreation, ARealRunIsNeverTakenOver) {
  test::ScratchDir scratch;
  run::Engine engine(test::builtin_registry());
  ASSERT_EQ(engine.start(Json::parse(kFlow), Json::object(), test::fast_options(scratch.path(), "r1")).status,
            run::RunStatus::Succeeded);
  try {
    (void)run::RunDirectory::create(scratch.path(), "r1");
    FAIL() << "expected run.exists";
  } catch (const Error& e) {
    EXPECT_EQ(e.id(), "run.exists");
  }
}

// The record types of each commit of a journal.
std::vector<std::vector<std::uint16_t>> commits_of(const std::filesystem::path& journal_file) {
  std::vector<std::vector<std::uint16_t>> out;
  for (auto& c : test::journal_commits(journal_file)) out.push_back(std::move(c.types));
  return out;
}

std::uint16_t type_of(run::RecordType t) { return static_cast<std::uint16_t>(t); }

// A run's first commit holds what stepping its first state decided (a
// task's scheduling) beside its start: a one-task flow is two commits, two
// waits for a group flush, not three. Nothing of it is acted on before
// on_started (the echo has not run then), and a run interrupted before it
// began schedules nothing: it meets its cancel first, as before.
TEST(RunCreation, ARunsFirstCommitHoldsItsFirstTaskScheduledAndIsActedOnAfterOnStarted) {
  using run::RecordType;
  test::ScratchDir scratch;
  run::Engine engine(test::builtin_registry());
  auto o = test::fast_options(scratch.path(), "r1");
  std::vector<std::vector<std::uint16_t>> at_start;
  o.on_started = [&] { at_start = commits_of(scratch.path() / "r1" / "journal"); };
  ASSERT_EQ(engine.start(Json::parse(kFlow), Json::object(), o).status, run::RunStatus::Succeeded);
  const std::vector<std::uint16_t> first = {type_of(RecordType::RunStarted), type_of(RecordType::StateEntered),
                                            type_of(RecordType::TaskScheduled)};
  ASSERT_EQ(at_start.size(), 1u);
  EXPECT_EQ(at_start[0], first);
  const auto commits = commits_of(scratch.path() / "r1" / "journal");
  ASSERT_EQ(commits.size(), 2u);
  EXPECT_EQ(commits[0], first);

  auto cancelled = test::fast_options(scratch.path(), "r2");
  cancelled.interrupt = [] { return run::Interrupt::Cancel; };
  ASSERT_EQ(engine.start(Json::parse(kFlow), Json::object(), cancelled).status, run::RunStatus::Failed);
  const auto c = commits_of(scratch.path() / "r2" / "journal");
  ASSERT_FALSE(c.empty());
  EXPECT_EQ(c[0], (std::vector<std::uint16_t>{type_of(RecordType::RunStarted), type_of(RecordType::StateEntered)}));
  for (const auto& commit : c)
    for (const std::uint16_t t : commit) EXPECT_NE(t, type_of(RecordType::TaskScheduled));
}

TEST(RunCreation, ARunWithASyncGroupAsksItOnlyForEachCommit) {
  test::ScratchDir scratch;
  int flushes = 0;
  fs::SyncGroup group([&] { return ++flushes, 0; });
  run::Engine engine(test::builtin_registry());
  auto o = test::fast_options(scratch.path(), "r1");
  o.durability = journal::Durability::Fsync;
  o.sync_group = &group;
  ASSERT_EQ(engine.start(Json::parse(kFlow), Json::object(), o).status, run::RunStatus::Succeeded);
  const std::size_t commits = commits_of(scratch.path() / "r1" / "journal").size();
  EXPECT_GE(commits, 2u);
  // Layout 1 asked once more, for definition.json before its rename.
  EXPECT_EQ(group.stats().requests, commits);
  EXPECT_EQ(flushes, static_cast<int>(commits));
}

// A resume acts on what it found only once that is durable: a journal
// written by a process killed before its sync (here: written without syncs)
// may be only in the page cache. With a group, one flush before the run's
// on_started, whether the run goes on or had ended; the flush is asked
// again by each commit after that, never instead of it.
TEST(RunCreation, AResumeMakesWhatItFoundDurableBeforeItActs) {
  test::ScratchDir scratch;
  run::Engine engine(test::builtin_registry());
  auto unsynced = test::fast_options(scratch.path(), "r1");  // Durability::None
  unsynced.interrupt = [] { return run::Interrupt::Stop; };   // left RUNNING after its start
  ASSERT_EQ(engine.start(Json::parse(kFlow), Json::object(), unsynced).status, run::RunStatus::Running);
  int flushes = 0;
  fs::SyncGroup group([&] { return ++flushes, 0; });
  auto o = test::fast_options(scratch.path(), "r1");
  o.durability = journal::Durability::Fsync;
  o.sync_group = &group;
  int at_start = -1;
  o.on_started = [&] { at_start = flushes; };
  ASSERT_EQ(engine.resume("r1", o).status, run::RunStatus::Succeeded);
  EXPECT_EQ(at_start, 1);
  EXPECT_GT(flushes, 1);  // the run's own commits after it
  // An ended run answers its recorded result: what it found is synced first all the same.
  flushes = 0;
  at_start = -1;
  ASSERT_EQ(engine.resume("r1", o).status, run::RunStatus::Succeeded);
  EXPECT_EQ(at_start, 1);
  EXPECT_EQ(flushes, 1);
  // Durability::None syncs nothing, at a resume as at a commit.
  flushes = 0;
  o.durability = journal::Durability::None;
  ASSERT_EQ(engine.resume("r1", o).status, run::RunStatus::Succeeded);
  EXPECT_EQ(flushes, 0);
}

// A pilot's run keeps the id of the submission it was started from, in its
// RunStarted and its status.json, so that summaries (a pilot at its start)
// name it without reading the submission; a run without one records none.
TEST(RunCreation, ARunKeepsItsSubmissionIdInItsJournalAndItsStatus) {
  test::ScratchDir scratch;
  run::Engine engine(test::builtin_registry());
  auto o = test::fast_options(scratch.path(), "r1");
  o.status_at_start = false;  // as a pilot's runs: summarized from the journal until the end
  o.submission_id = "sub-1";
  std::string while_running;
  o.on_started = [&] { while_running = run::summarize_run(scratch.path(), "r1")->submission_id; };
  ASSERT_EQ(engine.start(Json::parse(kFlow), Json::object(), o).status, run::RunStatus::Succeeded);
  EXPECT_EQ(while_running, "sub-1");
  EXPECT_EQ(run::summarize_run(scratch.path(), "r1")->submission_id, "sub-1");  // from status.json
  EXPECT_EQ(run::read_history(scratch.path() / "r1" / "journal").events.front().body.value("submission", ""), "sub-1");
  ASSERT_EQ(engine.start(Json::parse(kFlow), Json::object(), test::fast_options(scratch.path(), "r2")).status,
            run::RunStatus::Succeeded);
  EXPECT_EQ(run::summarize_run(scratch.path(), "r2")->submission_id, "");
  EXPECT_FALSE(run::read_history(scratch.path() / "r2" / "journal").events.front().body.contains("submission"));
}

std::set<std::string> files_in(const std::filesystem::path& dir) {
  std::set<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

TEST(RunLayout, ANewRunKeepsItsDefinitionAndInputInItsJournal) {
  test::ScratchDir scratch;
  run::Engine engine(test::builtin_registry());
  auto o = test::fast_options(scratch.path(), "r1");
  o.status_at_start = false;  // as a pilot's runs
  const Json input = {{"x", 1}};
  ASSERT_EQ(engine.start(Json::parse(kFlow), input, o).status, run::RunStatus::Succeeded);
  const auto dir = scratch.path() / "r1";
  EXPECT_EQ(files_in(dir), (std::set<std::string>{"journal", "lock", "status.json"}));
  EXPECT_EQ(run::stored_definition(dir), Json::parse(kFlow));
  EXPECT_EQ(run::stored_input(dir), input);
  const auto started = run::read_history(dir / "journal").events.front();
  EXPECT_EQ(started.body.value("layout", 0), run::kRunDirLayout);
  EXPECT_TRUE(run::RunDirectory::exists(scratch.path(), "r1"));
}

// A layout-1 run (written by test::to_layout1 as beamflow wrote runs before
// layout 2) cut before its end: it lists from its journal, resumes to the
// same output, and one killed before its first commit (definition.json and
// input.json there, a journal of just its header) starts from input.json.
TEST(RunLayout, ALayout1RunStillListsAndResumes) {
  test::ScratchDir scratch;
  run::Engine engine(test::builtin_registry());
  const Json flow = Json::parse(
      R"({"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Task","Resource":"echo","End":true}}})");
  const Json input = {{"x", 7}};
  auto o = test::fast_options(scratch.path(), "full");
  o.flow_file = "old-flow.json";
  const auto full = engine.start(flow, input, o);
  ASSERT_EQ(full.status, run::RunStatus::Succeeded);
  const auto report = journal::read_journal(scratch.path() / "full" / "journal");
  ASSERT_GT(report.records.size(), 3u);
  for (const std::string id : {"old", "old-unstarted"}) {
    SCOPED_TRACE(id);
    const auto dir = scratch.path() / id;
    std::filesystem::create_directories(dir);
    std::filesystem::copy_file(scratch.path() / "full" / "journal", dir / "journal");
    test::to_layout1(dir);
    ASSERT_TRUE(std::filesystem::exists(dir / "definition.json"));
    // Cut: before RunEnded ("old"), or to the bare header ("old-unstarted").
    const auto records = journal::read_journal(dir / "journal").records;
    std::filesystem::resize_file(dir / "journal",
                                 id == "old" ? records.back().offset : journal::format::header_size);
    EXPECT_TRUE(run::RunDirectory::exists(scratch.path(), id));
    EXPECT_EQ(run::stored_definition(dir), flow);
    EXPECT_EQ(run::stored_input(dir), input);
    const auto listed = run::summarize_run(scratch.path(), id);
    ASSERT_TRUE(listed);
    EXPECT_EQ(listed->status, "INTERRUPTED");  // no status.json, nobody holds its lock
    if (id == "old") {
      EXPECT_EQ(listed->flow, "old-flow.json");
    }
    const auto resumed = engine.resume(id, test::fast_options(scratch.path()));
    ASSERT_EQ(resumed.status, run::RunStatus::Succeeded) << resumed.error.cause;
    EXPECT_EQ(resumed.output, full.output);
    EXPECT_EQ(run::summarize_run(scratch.path(), id)->status, "SUCCEEDED");
  }
  std::set<std::string> listed;
  for (const auto& s : run::list_runs(scratch.path())) listed.insert(s.run_id);
  EXPECT_EQ(listed, (std::set<std::string>{"full", "old", "old-unstarted"}));
}

}  // namespace
}  // namespace beamflow
