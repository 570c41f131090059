#include "action_fixture.hpp"
#include "actions/durable.hpp"

namespace beamflow::actions::testing {
namespace {

class SleepTest : public ActionTest {};

TEST_F(SleepTest, ZeroSecondsSucceedsAtOnce) {
  const ActionState s = action("sleep").run(request({{"seconds", 0}}));
  EXPECT_EQ(s.status, ActionStatus::Succeeded);
  EXPECT_EQ(s.details, (Json{{"slept", 0}}));
}

TEST_F(SleepTest, IsActiveUntilTheDeadline) {
  const auto r = request({{"seconds", 0.2}});
  const ActionState first = action("sleep").run(r);
  ASSERT_EQ(first.status, ActionStatus::Active);
  EXPECT_GT(first.poll_after.count(), 0);
  EXPECT_LE(first.poll_after.count(), 1000);
  EXPECT_TRUE(first.details.contains("wake_at"));
  const ActionState done = drive(action("sleep"), r);
  EXPECT_EQ(done.status, ActionStatus::Succeeded);
  EXPECT_EQ(done.details, (Json{{"slept", 0.2}}));
}

TEST_F(SleepTest, PollIntervalIsCappedAtOneSecond) {
  const ActionState s = action("sleep").run(request({{"seconds", 3600}}));
  EXPECT_EQ(s.status, ActionStatus::Active);
  EXPECT_EQ(s.poll_after.count(), 1000);
}

TEST_F(SleepTest, RerunKeepsTheOriginalDeadline) {
  const auto r = request({{"seconds", 3600}});
  action("sleep").run(r);
  const std::string timer = slurp(r.state_dir / "sleep.json");
  action("sleep").run(r);  // a restarted engine
  action("sleep").status(r);
  EXPECT_EQ(slurp(r.state_dir / "sleep.json"), timer);
  // A deadline already in the past (the engine was down that long) ends it.
  Json j = Json::parse(timer);
  j["deadline_ms"] = durable::epoch_ms(Clock::now()) - 1;
  durable::write_json(r.state_dir / "sleep.json", j);
  EXPECT_EQ(action("sleep").run(r).details, (Json{{"slept", 3600}}));
}

TEST_F(SleepTest, CancelRecordsCancelled) {
  const auto r = request({{"seconds", 3600}});
  action("sleep").run(r);
  const ActionState c = action("sleep").cancel(r);
  EXPECT_EQ(c.error, "Action.Cancelled");
  EXPECT_EQ(action("sleep").status(r).error, "Action.Cancelled");
}

TEST_F(SleepTest, RejectsBadInput) {
  EXPECT_EQ(action("sleep").run(request({{"seconds", -1}})).cause, "sleep: input.seconds must be >= 0");
  EXPECT_EQ(action("sleep").run(request(Json::object())).cause, "sleep: input.seconds is required");
  EXPECT_EQ(action("sleep").run(request({{"seconds", "5"}})).cause,
            "sleep: input.seconds must be a number, got string");
  EXPECT_EQ(action("sleep").run(request({{"seconds", 1e12}})).cause,
            "sleep: input.seconds must be <= 1000000000");
}

}  // namespace
}  // namespace beamflow::actions::testing
