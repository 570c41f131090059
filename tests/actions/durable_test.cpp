// Corrupt or missing per-action state is reported, never silently ignored.
#include "action_fixture.hpp"
#include "actions/durable.hpp"
#include "core/error.hpp"

namespace beamflow::actions::testing {
namespace {

class DurableTest : public ActionTest {};

TEST_F(DurableTest, CorruptResultBecomesAFailedStateNamingTheFile) {
  const auto r = request({{"seconds", 1}});
  std::ofstream(r.state_dir / "result.json") << "{not json";
  const ActionState s = action("sleep").run(r);
  EXPECT_EQ(s.status, ActionStatus::Failed);
  EXPECT_EQ(s.error, "States.Runtime");
  EXPECT_EQ(s.cause, "[action.state_corrupt] action state file is not valid JSON (file=" +
                         (r.state_dir / "result.json").string() + ")");
}

TEST_F(DurableTest, ResultWithoutFinalStatusIsCorrupt) {
  const auto r = request({{"failures", 0}});
  std::ofstream(r.state_dir / "result.json") << R"({"status": "ACTIVE"})";
  EXPECT_EQ(action("flaky").run(r).cause,
            "[action.state_corrupt] action result has no final status (SUCCEEDED or FAILED) (file=" +
                (r.state_dir / "result.json").string() + ", status=ACTIVE)");
}

TEST_F(DurableTest, RoundTripsOutcomes) {
  const auto dir = request(Json::object()).state_dir;
  ActionState failed = ActionState::failed("x", "E.Name", "why");
  failed.details = {{"exit_code", 3}};
  durable::save_result(dir, failed);
  const auto back = durable::load_result(dir, "other-id");
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->action_id, "other-id");
  EXPECT_EQ(back->status, ActionStatus::Failed);
  EXPECT_EQ(back->error, "E.Name");
  EXPECT_EQ(back->cause, "why");
  EXPECT_EQ(back->details, failed.details);
}

TEST_F(DurableTest, Rfc3339IsUtcWithMilliseconds) {
  EXPECT_EQ(durable::rfc3339(durable::from_epoch_ms(1714566896789)), "2024-05-01T12:34:56.789Z");
  EXPECT_EQ(durable::epoch_ms(durable::from_epoch_ms(-1)), -1);
}

TEST_F(DurableTest, SupervisorWithoutSpecRecordsALaunchFailure) {
  const auto dir = request(Json::object()).state_dir;
  EXPECT_EQ(supervise_by_hand(dir), 1);
  const auto s = durable::load_result(dir, "id");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->error, "Command.LaunchFailed");
  EXPECT_EQ(s->cause, "supervisor: [command.supervisor] no command spec: No such file or directory (file=" +
                          (dir / "spec.json").string() + ")");
  EXPECT_FALSE(stdfs::exists(dir / "started"));
  EXPECT_NE(slurp(dir / "supervisor.log").find("no command spec"), std::string::npos);
}

TEST_F(DurableTest, SupervisorWithMalformedSpecRecordsALaunchFailure) {
  const auto dir = request(Json::object()).state_dir;
  std::ofstream(dir / "spec.json") << R"({"argv": []})";
  EXPECT_EQ(supervise_by_hand(dir), 1);
  const auto s = durable::load_result(dir, "id");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->error, "Command.LaunchFailed");
  EXPECT_EQ(s->cause.rfind("supervisor: [action.state_corrupt] command spec is malformed: ", 0), 0u)
      << s->cause;
}

}  // namespace
}  // namespace beamflow::actions::testing
