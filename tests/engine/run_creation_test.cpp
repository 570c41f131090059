// A run's creation (RunDirectory::create): a directory left by a creation cut
// short (its journal linked, definition.json not yet renamed into place) is
// taken over with a fresh journal; a run given a SyncGroup asks it once for
// its creation and once per journal commit, and never fsyncs on its own.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
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
  EXPECT_FALSE(run::RunDirectory::exists(scratch.path(), "r1"));
  run::Engine engine(test::builtin_registry());
  auto o = test::fast_options(scratch.path(), "r1");
  o.durability = journal::Durability::Fsync;
  const auto r = engine.start(Json::parse(kFlow), Json::object(), o);
  EXPECT_EQ(r.status, run::RunStatus::Succeeded);
  const auto h = run::read_history(dir / "journal");
  ASSERT_FALSE(h.events.empty());
  EXPECT_EQ(h.events.front().type, run::RecordType::RunStarted);  // the stale record is gone
}

// A pilot's runs write status.json once, at their end
// (RunOptions::status_at_start = false): until then a run is summarized from
// its lock (RUNNING while held) and its journal's RunStarted (flow, start).
TEST(RunCreation, ARunWithoutStatusJsonIsSummarizedFromItsLockAndItsJournal) {
  for (const bool at_start : {false, true}) {
    SCOPED_TRACE(at_start ? "status.json at start" : "status.json at the end only");
    test::ScratchDir scratch;
    run::Engine engine(test::builtin_registry());
    auto o = test::fast_options(scratch.path(), "r1");
    o.flow_file = "the-flow.json";
    o.status_at_start = at_start;
    bool looked = false;
    o.on_started = [&] {
      looked = true;
      EXPECT_EQ(std::filesystem::exists(scratch.path() / "r1" / "status.json"), at_start);
      const auto s = run::summarize_run(scratch.path(), "r1");
      ASSERT_TRUE(s);
      EXPECT_EQ(s->status, "RUNNING");  // our own lock is held
      EXPECT_EQ(s->flow, "the-flow.json");
      EXPECT_EQ(s->started.size(), 24u) << s->started;  // 2026-12-04T06:30:00.123Z
    };
    ASSERT_EQ(engine.start(Json::parse(kFlow), Json::object(), o).status, run::RunStatus::Succeeded);
    EXPECT_TRUE(looked);
    const auto s = run::summarize_run(scratch.path(), "r1");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->status, "SUCCEEDED");
    EXPECT_EQ(s->flow, "the-flow.json");
    // Without status.json and without a holder of its lock: INTERRUPTED (resumable).
    std::filesystem::remove(scratch.path() / "r1" / "status.json");
    EXPECT_EQ(run::summarize_run(scratch.path(), "r1")->status, "INTERRUPTED");
  }
}

TEST(RunCreation, ARealRunIsNeverTakenOver) {
  test::ScratchDir scratch;
  run::Engine engine(test::builtin_registry());
  ASSERT_EQ(engine.start(Json::parse(kFlow), Json::object(), test::fast_options(scratch.path(), "r1")).status,
            run::RunStatus::Succeeded);
  try {
    (void)run::RunDirectory::create(scratch.path(), "r1", Json::parse(kFlow), Json::object());
    FAIL() << "expected run.exists";
  } catch (const Error& e) {
    EXPECT_EQ(e.id(), "run.exists");
  }
}

TEST(RunCreation, ARunWithASyncGroupAsksItForItsCreationAndEachCommit) {
  test::ScratchDir scratch;
  int flushes = 0;
  fs::SyncGroup group([&] { return ++flushes, 0; });
  run::Engine engine(test::builtin_registry());
  auto o = test::fast_options(scratch.path(), "r1");
  o.durability = journal::Durability::Fsync;
  o.sync_group = &group;
  ASSERT_EQ(engine.start(Json::parse(kFlow), Json::object(), o).status, run::RunStatus::Succeeded);
  // The commits, from the journal's bytes (journal.hpp's layout): records
  // whose flags mark the first record of a commit.
  std::ifstream in(scratch.path() / "r1" / "journal", std::ios::binary);
  const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  namespace format = journal::format;
  std::size_t commits = 0;
  for (std::size_t at = format::header_size; at + format::record_header_size <= bytes.size();
       at += format::record_header_size + format::load_u32(bytes.data() + at + 4))
    if (format::load_u16(bytes.data() + at + 14) & format::flag_first) ++commits;
  EXPECT_GE(commits, 2u);
  EXPECT_EQ(group.stats().requests, 1 + commits);
  EXPECT_EQ(flushes, static_cast<int>(1 + commits));
}

}  // namespace
}  // namespace beamflow
