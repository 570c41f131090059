// Engine behaviour that depends on time, concurrency or the journal's
// contents, which flat input/output conformance cases cannot show.
#include <gtest/gtest.h>

#include <chrono>
#include <set>

#include "engine_support.hpp"
#include "run/paths.hpp"
#include "run/run_store.hpp"

namespace beamflow {
namespace {

using Clock = std::chrono::steady_clock;

struct Timed {
  run::RunResult result;
  double seconds;
  std::vector<run::Event> history;
};

Timed run_flow(const test::ScratchDir& scratch, const std::string& flow, const Json& input = Json::object()) {
  run::Engine engine(test::builtin_registry());
  const auto t0 = Clock::now();
  Timed t{engine.start(Json::parse(flow), input, test::fast_options(scratch.path(), "r")), 0, {}};
  t.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  t.history = run::read_history(run::run_dir(scratch.path(), "r") / "journal").events;
  return t;
}

// $$ (the context object) is one object the interpreter updates in place
// from state to state: $$.Task is there once a task is scheduled (its
// ResultSelector sees the token) and gone in the next state, and in the
// next Task state's Parameters; $$.State names the state being run.
TEST(Semantics, TheContextFollowsTheStateThatReadsIt) {
  test::ScratchDir scratch;
  auto t = run_flow(scratch, R"({"StartAt":"T1","States":{
      "T1":{"Type":"Task","Resource":"echo","Parameters":{"name.$":"$$.State.Name"},
            "ResultSelector":{"tok.$":"$$.Task.Token","name.$":"$.name"},"ResultPath":"$.t1","Next":"P"},
      "P":{"Type":"Pass","Parameters":{"ctx.$":"$$"},"ResultPath":"$.p","Next":"T2"},
      "T2":{"Type":"Task","Resource":"echo","Parameters":{"ctx.$":"$$"},
            "ResultSelector":{"tok.$":"$$.Task.Token","ctx.$":"$.ctx"},"ResultPath":"$.t2","End":true}}})");
  ASSERT_EQ(t.result.status, run::RunStatus::Succeeded) << t.result.error.cause;
  std::vector<std::string> tokens;
  for (const auto& e : t.history)
    if (e.type == run::RecordType::TaskScheduled) tokens.push_back(e.task ? e.task->a : e.body.at("a").get<std::string>());
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_NE(tokens[0], tokens[1]);
  const Json& out = t.result.output;
  EXPECT_EQ(out["t1"]["tok"], tokens[0]);
  EXPECT_EQ(out["t1"]["name"], "T1");
  EXPECT_FALSE(out["p"]["ctx"].contains("Task")) << out["p"]["ctx"].dump();
  EXPECT_EQ(out["p"]["ctx"]["State"]["Name"], "P");
  EXPECT_EQ(out["t2"]["tok"], tokens[1]);
  EXPECT_FALSE(out["t2"]["ctx"].contains("Task")) << out["t2"]["ctx"].dump();
  EXPECT_EQ(out["t2"]["ctx"]["State"]["Name"], "T2");
}

TEST(Semantics, TaskTimeoutCancelsTheActionAndRaisesStatesTimeout) {
  test::ScratchDir scratch;
  auto t = run_flow(scratch, R"({"StartAt":"S","States":{"S":{"Type":"Task","Resource":"sleep",
      "Parameters":{"seconds":30},"TimeoutSeconds":1,"End":true}}})");
  EXPECT_EQ(t.result.status, run::RunStatus::Failed);
  EXPECT_EQ(t.result.error.error, "States.Timeout");
  EXPECT_LT(t.seconds, 5.0);
}

TEST(Semantics, TimeoutIsCaughtByStatesAllButNotByTaskFailed) {
  test::ScratchDir scratch;
  auto t = run_flow(scratch, R"({"StartAt":"S","States":{"S":{"Type":"Task","Resource":"sleep",
      "Parameters":{"seconds":30},"TimeoutSeconds":1,
      "Catch":[{"ErrorEquals":["States.TaskFailed"],"Next":"Wrong"},{"ErrorEquals":["States.ALL"],"Next":"Right"}],"End":true},
      "Wrong":{"Type":"Pass","Result":"wrong","End":true},"Right":{"Type":"Pass","Result":"right","End":true}}})");
  EXPECT_EQ(t.result.output, "right");
}

TEST(Semantics, SilentActionFailsItsHeartbeat) {
  test::ScratchDir scratch;
  auto t = run_flow(scratch, R"({"StartAt":"S","States":{"S":{"Type":"Task","Resource":"command",
      "Parameters":{"argv":["sleep","30"]},"HeartbeatSeconds":1,"TimeoutSeconds":20,"End":true}}})");
  EXPECT_EQ(t.result.error.error, "States.HeartbeatTimeout");
  EXPECT_LT(t.seconds, 8.0);
}

TEST(Semantics, OutputCountsAsACommandHeartbeat) {
  test::ScratchDir scratch;
  auto t = run_flow(scratch, R"({"StartAt":"S","States":{"S":{"Type":"Task","Resource":"command",
      "Parameters":{"argv":["sh","-c","for i in 1 2 3 4 5 6; do echo tick; sleep 0.4; done"]},
      "HeartbeatSeconds":1,"End":true}}})");
  EXPECT_EQ(t.result.status, run::RunStatus::Succeeded) << t.result.error.error << ": " << t.result.error.cause;
}

TEST(Semantics, FlowTimeoutEndsTheRun) {
  test::ScratchDir scratch;
  auto t = run_flow(scratch, R"({"TimeoutSeconds":1,"StartAt":"S","States":{"S":{"Type":"Task","Resource":"sleep",
      "Parameters":{"seconds":30},"End":true}}})");
  EXPECT_EQ(t.result.error.error, "States.Timeout");
  EXPECT_LT(t.seconds, 5.0);
}

TEST(Semantics, FailingBranchCancelsItsSiblings) {
  test::ScratchDir scratch;
  auto t = run_flow(scratch, R"({"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
      {"StartAt":"Slow","States":{"Slow":{"Type":"Task","Resource":"sleep","Parameters":{"seconds":30},"End":true}}},
      {"StartAt":"Boom","States":{"Boom":{"Type":"Fail","Error":"Beam.Dump","Cause":"dumped"}}}]}}})");
  EXPECT_EQ(t.result.error, (FlowError{"Beam.Dump", "dumped"}));
  EXPECT_LT(t.seconds, 5.0) << "the sleeping branch must be cancelled, not awaited";
  bool cancelled = false;
  for (const auto& e : t.history) cancelled |= e.type == run::RecordType::FrameCancelled;
  EXPECT_TRUE(cancelled);
}

TEST(Semantics, BranchFailureIsCatchableAsBranchFailed) {
  test::ScratchDir scratch;
  auto t = run_flow(scratch, R"({"StartAt":"P","States":{"P":{"Type":"Parallel","Next":"X",
      "Catch":[{"ErrorEquals":["States.BranchFailed"],"Next":"Caught"}],"Branches":[
      {"StartAt":"Boom","States":{"Boom":{"Type":"Fail","Error":"E1"}}}]},
      "X":{"Type":"Succeed"},"Caught":{"Type":"Pass","End":true}}})");
  EXPECT_EQ(t.result.output, (Json{{"Error", "E1"}, {"Cause", ""}}));
}

TEST(Semantics, MapNeverRunsMoreItemsThanMaxConcurrency) {
  test::ScratchDir scratch;
  auto t = run_flow(scratch, R"({"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":2,"End":true,
      "ItemProcessor":{"StartAt":"S","States":{"S":{"Type":"Task","Resource":"sleep","Parameters":{"seconds":0.05},"End":true}}}}}})",
      Json::array({1, 2, 3, 4, 5, 6, 7}));
  ASSERT_EQ(t.result.status, run::RunStatus::Succeeded);
  EXPECT_EQ(t.result.output.size(), 7u);
  int running = 0, peak = 0;
  for (const auto& e : t.history) {
    if (e.type == run::RecordType::StateEntered && e.body.contains("p")) peak = std::max(peak, ++running);
    if (e.type == run::RecordType::FrameEnded) --running;
  }
  EXPECT_EQ(peak, 2);
}

TEST(Semantics, AMapWithoutMaxConcurrencyStartsItsItemsInWindows) {
  // 5,000 items, no MaxConcurrency: at most 4,096 in flight at once (the
  // engine's window, interpreter.cpp), and every item still runs once.
  test::ScratchDir scratch;
  Json items = Json::array();
  for (int i = 0; i < 5000; ++i) items.push_back(i);
  auto t = run_flow(scratch, R"({"StartAt":"M","States":{"M":{"Type":"Map","End":true,
      "ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}}}})", items);
  ASSERT_EQ(t.result.status, run::RunStatus::Succeeded);
  EXPECT_EQ(t.result.output, items);
  int running = 0, peak = 0, entered = 0;
  for (const auto& e : t.history) {
    if (e.type == run::RecordType::StateEntered && e.body.contains("p")) {
      peak = std::max(peak, ++running);
      ++entered;
    }
    if (e.type == run::RecordType::FrameEnded) --running;
  }
  EXPECT_EQ(peak, 4096);
  EXPECT_EQ(entered, 5000);
}

TEST(Semantics, RetryBacksOffAndRecordsEachAttempt) {
  test::ScratchDir scratch;
  auto t = run_flow(scratch, R"({"StartAt":"F","States":{"F":{"Type":"Task","Resource":"flaky",
      "Parameters":{"failures":3},"Retry":[{"ErrorEquals":["Flaky.Error"],"IntervalSeconds":0.1,"BackoffRate":2,"MaxAttempts":3}],"End":true}}})");
  ASSERT_EQ(t.result.status, run::RunStatus::Succeeded) << t.result.error.cause;
  EXPECT_EQ(t.result.output, (Json{{"attempts", 4}}));
  std::vector<std::int64_t> delays;
  std::int64_t failed_at = 0;
  std::vector<std::string> ids;
  for (const auto& e : t.history) {
    if (e.type == run::RecordType::TaskFailed) failed_at = e.body.value("t", std::int64_t{0});
    if (e.type == run::RecordType::RetryScheduled) delays.push_back(e.body["until"].get<std::int64_t>() - failed_at);
    if (e.type == run::RecordType::TaskScheduled) ids.push_back(e.body["a"]);
  }
  ASSERT_EQ(delays.size(), 3u);
  EXPECT_NEAR(delays[0], 100, 20);
  EXPECT_NEAR(delays[1], 200, 20);
  EXPECT_NEAR(delays[2], 400, 20);
  ASSERT_EQ(ids.size(), 4u);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 4u) << "each attempt has its own action id";
  EXPECT_GT(t.seconds, 0.65);
}

TEST(Semantics, MaxDelayCapsTheBackoff) {
  test::ScratchDir scratch;
  auto t = run_flow(scratch, R"({"StartAt":"F","States":{"F":{"Type":"Task","Resource":"flaky",
      "Parameters":{"failures":2},"Retry":[{"ErrorEquals":["States.ALL"],"IntervalSeconds":0.1,"BackoffRate":10,
      "MaxDelaySeconds":0.15,"MaxAttempts":5}],"End":true}}})");
  ASSERT_EQ(t.result.status, run::RunStatus::Succeeded);
  std::int64_t failed_at = 0, longest = 0;
  for (const auto& e : t.history) {
    if (e.type == run::RecordType::TaskFailed) failed_at = e.body.value("t", std::int64_t{0});
    if (e.type == run::RecordType::RetryScheduled) longest = std::max(longest, e.body["until"].get<std::int64_t>() - failed_at);
  }
  EXPECT_LE(longest, 160);
}

TEST(Semantics, RuntimeErrorsAreNotCaughtByStatesAll) {
  test::ScratchDir scratch;
  auto t = run_flow(scratch, R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"echo","InputPath":"$.missing",
      "Catch":[{"ErrorEquals":["States.ALL"],"Next":"C"}],"End":true},"C":{"Type":"Succeed"}}})");
  EXPECT_EQ(t.result.error.error, "States.Runtime");
}

TEST(Semantics, OversizedStateOutputEndsTheRunWithDataLimitExceeded) {
  test::ScratchDir scratch;
  run::Engine engine(test::builtin_registry());
  auto o = test::fast_options(scratch.path(), "big");
  o.max_payload_bytes = 1000;
  auto r = engine.start(Json::parse(R"J({"StartAt":"P","States":{"P":{"Type":"Pass",
      "Parameters":{"a.$":"States.ArrayRange(1, 900, 1)"},"End":true}}})J"), Json::object(), o);
  EXPECT_EQ(r.error.error, "States.DataLimitExceeded");
}

TEST(Semantics, GlobusActionStoresTheStatusDocument) {
  test::ScratchDir scratch;
  auto t = run_flow(scratch, R"({"StartAt":"A","States":{"A":{"Type":"Action","ActionUrl":"https://actions.example.org/echo",
      "Parameters":{"hello.$":"$.who"},"ResultPath":"$.r","End":true}}})", Json{{"who", "world"}});
  ASSERT_EQ(t.result.status, run::RunStatus::Succeeded);
  EXPECT_EQ(t.result.output["r"]["status"], "SUCCEEDED");
  EXPECT_EQ(t.result.output["r"]["details"], (Json{{"hello", "world"}}));
  EXPECT_TRUE(t.result.output["r"]["action_id"].is_string());
}

TEST(Semantics, GlobusActionFailureContinuesOrRaisesAsConfigured) {
  test::ScratchDir scratch;
  auto t = run_flow(scratch, R"({"StartAt":"A","States":{"A":{"Type":"Action","ActionUrl":"https://x.org/fail",
      "ExceptionOnActionFailure":false,"Parameters":{"Error":"E","Cause":"c"},"ResultPath":"$.r","End":true}}})");
  EXPECT_EQ(t.result.output["r"]["status"], "FAILED");
  test::ScratchDir scratch2;
  auto u = run_flow(scratch2, R"({"StartAt":"A","States":{"A":{"Type":"Action","ActionUrl":"https://x.org/fail",
      "Parameters":{"Error":"E","Cause":"c"},"End":true}}})");  // raising is the default
  EXPECT_EQ(u.result.error.error, "ActionFailedException");
}

}  // namespace
}  // namespace beamflow
