// A run is driven by one process at a time.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "engine_support.hpp"
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
  for (const char* bad : {"../x", "a/b", "..", ".hidden", ""}) {
    try {
      auto o = test::fast_options(scratch.path());
      o.run_id = bad;
      engine.start(flow, Json::object(), o);
      FAIL() << "accepted run id " << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.id(), "run.bad_id") << bad;
    }
  }
  EXPECT_FALSE(std::filesystem::exists(scratch.path().parent_path() / "x"));
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

}  // namespace
}  // namespace beamflow
