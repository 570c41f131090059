// A run is driven by one process at a time.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "engine_support.hpp"
#include "platform/fs.hpp"
#include "run/run_store.hpp"

namespace beamflow {
namespace {

TEST(Lock, ResumeOfALockedRunIsRefused) {
  test::ScratchDir scratch;
  run::Engine engine(test::builtin_registry());
  const Json flow = Json::parse(R"({"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}})");
  ASSERT_EQ(engine.start(flow, Json::object(), test::fast_options(scratch.path(), "r1")).status, run::RunStatus::Succeeded);
  auto held = run::RunDirectory::open(scratch.path(), "r1");  // another driver
  try {
    engine.resume("r1", test::fast_options(scratch.path()));
    FAIL() << "expected run.locked";
  } catch (const Error& e) {
    EXPECT_EQ(e.id(), "run.locked");
    EXPECT_NE(std::string(e.what()).find("r1"), std::string::npos);
  }
}

TEST(Lock, UnknownRunIsReported) {
  test::ScratchDir scratch;
  run::Engine engine(test::builtin_registry());
  try {
    engine.resume("nope", test::fast_options(scratch.path()));
    FAIL() << "expected run.not_found";
  } catch (const Error& e) {
    EXPECT_EQ(e.id(), "run.not_found");
  }
}

TEST(Lock, RunIdsThatEscapeTheRunsDirectoryAreRefused) {
  test::ScratchDir scratch;
  run::Engine engine(test::builtin_registry());
  const Json flow = Json::parse(R"({"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}})");
  // The runs root sits one level down in the scratch folder, so "../x" would
  // land in a folder this test owns and the check below cannot be fooled by
  // anything else in /tmp.
  const auto runs = scratch.path() / "runs";
  std::filesystem::create_directories(runs);
  for (const char* bad : {"../x", "a/b", "..", ".hidden", ""}) {
    try {
      auto o = test::fast_options(runs);
      o.run_id = bad;
      engine.start(flow, Json::object(), o);
      FAIL() << "accepted run id " << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.id(), "run.bad_id") << bad;
    }
  }
  EXPECT_FALSE(std::filesystem::exists(scratch.path() / "x"));
}

TEST(Lock, ExistingRunIdIsNotOverwritten) {
  test::ScratchDir scratch;
  run::Engine engine(test::builtin_registry());
  const Json flow = Json::parse(R"({"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}})");
  ASSERT_EQ(engine.start(flow, {{"v", 1}}, test::fast_options(scratch.path(), "r1")).output, (Json{{"v", 1}}));
  try {
    engine.start(flow, {{"v", 2}}, test::fast_options(scratch.path(), "r1"));
    FAIL() << "expected run.exists";
  } catch (const Error& e) {
    EXPECT_EQ(e.id(), "run.exists");
  }
  EXPECT_EQ(engine.resume("r1", test::fast_options(scratch.path())).output, (Json{{"v", 1}}));
}

TEST(Lock, RunsAreListedOldestFirstWithStatus) {
  test::ScratchDir scratch;
  run::Engine engine(test::builtin_registry());
  const Json ok = Json::parse(R"({"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}})");
  const Json bad = Json::parse(R"({"StartAt":"A","States":{"A":{"Type":"Fail","Error":"E","Cause":"c"}}})");
  engine.start(ok, Json::object(), test::fast_options(scratch.path(), "b-first"));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // distinct start times
  engine.start(bad, Json::object(), test::fast_options(scratch.path(), "a-second"));
  const auto runs = run::list_runs(scratch.path());
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].run_id, "b-first");
  EXPECT_EQ(runs[0].status, "SUCCEEDED");
  EXPECT_EQ(runs[1].run_id, "a-second");
  EXPECT_EQ(runs[1].status, "FAILED");
  EXPECT_EQ(runs[1].error["error"], "E");
}

// `beamflow runs` only looks: asking whether a RUNNING run's driver is alive
// creates no lock file in a run that has none (a missing lock is one nobody
// holds), and a lock held elsewhere still says RUNNING.
TEST(Lock, ListingRunsCreatesNoFileInThem) {
  test::ScratchDir scratch;
  run::Engine engine(test::builtin_registry());
  const Json ok = Json::parse(R"({"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}})");
  engine.start(ok, Json::object(), test::fast_options(scratch.path(), "unlocked"));
  engine.start(ok, Json::object(), test::fast_options(scratch.path(), "held"));
  for (const char* id : {"unlocked", "held"})
    fs::write_file_atomic(scratch.path() / id / "status.json", R"({"status":"RUNNING","flow":"f","started":"x"})");
  std::filesystem::remove(scratch.path() / "unlocked" / "lock");
  auto holder = fs::FileLock::try_acquire(scratch.path() / "held" / "lock");
  ASSERT_TRUE(holder);
  const auto files = [&](const char* id) {
    std::set<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(scratch.path() / id))
      names.insert(e.path().filename().string());
    return names;
  };
  const auto before = files("unlocked");
  std::map<std::string, std::string> status;
  for (const auto& r : run::list_runs(scratch.path())) status[r.run_id] = r.status;
  EXPECT_EQ(status["unlocked"], "INTERRUPTED");
  EXPECT_EQ(status["held"], "RUNNING");
  EXPECT_EQ(files("unlocked"), before);
  EXPECT_FALSE(std::filesystem::exists(scratch.path() / "unlocked" / "lock"));
}

}  // namespace
}  // namespace beamflow
