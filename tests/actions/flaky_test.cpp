#include "action_fixture.hpp"

namespace beamflow::actions::testing {
namespace {

class FlakyTest : public ActionTest {};

TEST_F(FlakyTest, FailsTheFirstAttemptsThenSucceeds) {
  const Json input = {{"failures", 2}};
  for (int attempt = 0; attempt < 2; ++attempt) {
    const ActionState s = action("flaky").run(request(input, "Flaky", attempt));
    EXPECT_EQ(s.status, ActionStatus::Failed);
    EXPECT_EQ(s.error, "Flaky.Error");
    EXPECT_EQ(s.cause, "flaky: attempt " + std::to_string(attempt + 1) + " of 2 planned failures");
  }
  const ActionState s = action("flaky").run(request(input, "Flaky", 2));
  EXPECT_EQ(s.status, ActionStatus::Succeeded);
  EXPECT_EQ(s.details, (Json{{"attempts", 3}}));
}

TEST_F(FlakyTest, DefaultsToOneFailureAndCustomError) {
  EXPECT_EQ(action("flaky").run(request({{"error", "Net.Down"}}, "F", 0)).error, "Net.Down");
  EXPECT_EQ(action("flaky").run(request({{"error", "Net.Down"}}, "F", 1)).details,
            (Json{{"attempts", 2}}));
}

TEST_F(FlakyTest, SameActionIdIsCountedOnce) {
  const auto r = request({{"failures", 1}}, "Flaky", 0);
  const ActionState first = action("flaky").run(r);
  EXPECT_EQ(action("flaky").run(r).cause, first.cause);
  EXPECT_EQ(action("flaky").status(r).cause, first.cause);
  // Even with the recorded outcome gone (a crash before it was written), the
  // counter does not count this action id again.
  stdfs::remove(r.state_dir / "result.json");
  EXPECT_EQ(action("flaky").run(r).cause, "flaky: attempt 1 of 1 planned failures");
  EXPECT_EQ(action("flaky").run(request({{"failures", 1}}, "Flaky", 1)).details,
            (Json{{"attempts", 2}}));
}

TEST_F(FlakyTest, CountsPerState) {
  EXPECT_EQ(action("flaky").run(request({{"failures", 0}}, "A", 0)).details, (Json{{"attempts", 1}}));
  EXPECT_EQ(action("flaky").run(request({{"failures", 0}}, "A", 1)).details, (Json{{"attempts", 2}}));
  EXPECT_EQ(action("flaky").run(request({{"failures", 0}}, "B/weird name", 0)).details,
            (Json{{"attempts", 1}}));
  // The counter file is named after the state name in hex.
  EXPECT_TRUE(stdfs::exists(run_dir / "flaky" / "41"));
}

TEST_F(FlakyTest, RejectsBadInput) {
  EXPECT_EQ(action("flaky").run(request({{"failures", -1}})).cause,
            "flaky: input.failures must be >= 0");
  EXPECT_EQ(action("flaky").run(request({{"failures", 1.5}})).cause,
            "flaky: input.failures must be an integer, got number");
  EXPECT_EQ(action("flaky").run(request({{"error", true}})).error, "Action.InvalidInput");
}

}  // namespace
}  // namespace beamflow::actions::testing
