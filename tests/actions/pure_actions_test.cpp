#include "action_fixture.hpp"

namespace beamflow::actions::testing {
namespace {

class PureActionsTest : public ActionTest {};

TEST_F(PureActionsTest, EchoReturnsAnyInput) {
  for (const Json& input : {Json{{"a", 1}, {"b", {1, 2}}}, Json::array({1, "x"}), Json(3.5), Json()}) {
    const ActionState s = action("echo").run(request(input));
    EXPECT_EQ(s.status, ActionStatus::Succeeded);
    EXPECT_EQ(s.details, input);
    EXPECT_EQ(s.action_id, "Step-0");
  }
}

TEST_F(PureActionsTest, FailUsesGivenErrorAndCause) {
  const ActionState s = action("fail").run(request({{"Error", "My.Error"}, {"Cause", "because"}}));
  EXPECT_EQ(s.status, ActionStatus::Failed);
  EXPECT_EQ(s.error, "My.Error");
  EXPECT_EQ(s.cause, "because");
}

TEST_F(PureActionsTest, FailDefaults) {
  const ActionState s = action("fail").run(request(Json::object()));
  EXPECT_EQ(s.error, "Fail.Error");
  EXPECT_EQ(s.cause, "fail action called");
}

TEST_F(PureActionsTest, FailRejectsBadInput) {
  const ActionState s = action("fail").run(request({{"Error", 5}}));
  EXPECT_EQ(s.error, "Action.InvalidInput");
  EXPECT_EQ(s.cause, "fail: input.Error must be a string, got integer");
  EXPECT_EQ(action("fail").run(request({{"Error", ""}})).cause, "fail: input.Error must not be empty");
}

TEST_F(PureActionsTest, AddKeepsIntegersIntegral) {
  const ActionState s = action("add").run(request({{"a", 2}, {"b", 40}}));
  ASSERT_EQ(s.status, ActionStatus::Succeeded);
  EXPECT_TRUE(s.details.is_number_integer());
  EXPECT_EQ(s.details, 42);
  EXPECT_EQ(action("add").run(request({{"a", -5}, {"b", 3}})).details, -2);
}

TEST_F(PureActionsTest, AddMixesToFloatingPoint) {
  const ActionState s = action("add").run(request({{"a", 1}, {"b", 0.5}}));
  EXPECT_TRUE(s.details.is_number_float());
  EXPECT_DOUBLE_EQ(s.details.get<double>(), 1.5);
}

TEST_F(PureActionsTest, AddOverflowFallsBackToFloatingPoint) {
  const ActionState s =
      action("add").run(request({{"a", INT64_MAX}, {"b", 1}}));
  EXPECT_TRUE(s.details.is_number_float());
  EXPECT_DOUBLE_EQ(s.details.get<double>(), 9223372036854775808.0);
}

TEST_F(PureActionsTest, AddRejectsWrongTypes) {
  auto cause = [&](Json input) {
    const ActionState s = action("add").run(request(std::move(input)));
    EXPECT_EQ(s.status, ActionStatus::Failed);
    EXPECT_EQ(s.error, "Action.InvalidInput");
    return s.cause;
  };
  EXPECT_EQ(cause({{"a", "1"}, {"b", 2}}), "add: input.a must be a number, got string");
  EXPECT_EQ(cause({{"a", 1}}), "add: input.b is required");
  EXPECT_EQ(cause({{"a", 1}, {"b", 2}, {"c", 3}}), "add: input.c is not a known field (known: a, b)");
  EXPECT_EQ(cause(Json::array({1, 2})), "add: input must be a JSON object, got array");
  EXPECT_EQ(cause({{"a", nullptr}, {"b", 2}}), "add: input.a must be a number, got null");
}

TEST_F(PureActionsTest, StatusRepeatsAndCancelHasNothingInFlight) {
  const auto r = request({{"a", 1}, {"b", 2}});
  EXPECT_EQ(action("add").status(r).details, 3);
  const ActionState c = action("add").cancel(r);
  EXPECT_EQ(c.error, "Action.Cancelled");
  EXPECT_EQ(c.cause, "add is synchronous: nothing was in flight");
}

}  // namespace
}  // namespace beamflow::actions::testing
