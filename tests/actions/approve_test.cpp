#include "action_fixture.hpp"
#include "actions/approval.hpp"
#include "core/error.hpp"

namespace beamflow::actions::testing {
namespace {

class ApproveTest : public ActionTest {
 protected:
  // The id and message of the Error `f` throws ("" when none).
  template <class F>
  static std::pair<std::string, std::string> error_of(F&& f) {
    try {
      f();
    } catch (const Error& e) {
      return {e.id(), e.what()};
    }
    return {};
  }
};

TEST_F(ApproveTest, WaitsCheaplyAndIsListedAsPending) {
  const auto r = request({{"prompt", "Reconstruct 2 TB of scan 42?"}}, "Gate");
  const ActionState s = action("approve").run(r);
  EXPECT_EQ(s.status, ActionStatus::Active);
  EXPECT_GE(s.poll_after.count(), 250);
  EXPECT_LE(s.poll_after.count(), 500);
  EXPECT_EQ(action("approve").status(r).status, ActionStatus::Active);
  const auto pending = pending_approvals(run_dir);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].action_id, "Gate-0");
  EXPECT_EQ(pending[0].state_name, "Gate");
  EXPECT_EQ(pending[0].run_id, "run-1");
  EXPECT_EQ(pending[0].prompt, "Reconstruct 2 TB of scan 42?");
  EXPECT_EQ(pending[0].requested_at.size(), 24u);  // 2024-05-01T12:34:56.789Z
  EXPECT_EQ(pending[0].requested_at.back(), 'Z');
  EXPECT_FALSE(pending[0].expires_at.has_value());
  EXPECT_EQ(only_pending(run_dir).action_id, "Gate-0");
}

TEST_F(ApproveTest, ApprovalSucceeds) {
  const auto r = request({{"message", "go?"}}, "Gate");
  action("approve").run(r);
  decide(run_dir, "Gate-0", true, "alice", "looks good");
  const ActionState s = action("approve").status(r);
  ASSERT_EQ(s.status, ActionStatus::Succeeded);
  EXPECT_EQ(s.details["approved"], true);
  EXPECT_EQ(s.details["by"], "alice");
  EXPECT_EQ(s.details["comment"], "looks good");
  EXPECT_EQ(s.details["decided_at"].get<std::string>().size(), 24u);
  EXPECT_TRUE(pending_approvals(run_dir).empty());
  EXPECT_EQ(action("approve").run(r).details, s.details);  // a restarted engine
}

// The approver corrects a proposed value: the result carries the values as
// decided and the correction; a value not proposed, of another type, or a
// rejection with corrections is refused and records nothing.
TEST_F(ApproveTest, ACorrectedValueIsTheResultAndATypoIsRefused) {
  const auto r = request({{"prompt", "centre ok?"}, {"values", {{"centre", 63.5}, {"rows", "0:8"}}}}, "Gate");
  action("approve").run(r);
  EXPECT_EQ(pending_approvals(run_dir).at(0).values["centre"], 63.5);
  const auto [typo, typo_what] = error_of([&] { decide(run_dir, "Gate-0", true, "alice", "", {{"center", 66.5}}); });
  EXPECT_EQ(typo, "approve.invalid");
  EXPECT_NE(typo_what.find("centre, rows"), std::string::npos) << typo_what;
  EXPECT_EQ(error_of([&] { decide(run_dir, "Gate-0", true, "alice", "", {{"centre", "66.5"}}); }).first,
            "approve.invalid");
  EXPECT_EQ(error_of([&] { decide(run_dir, "Gate-0", false, "alice", "no", {{"centre", 66.5}}); }).first,
            "approve.invalid");
  EXPECT_EQ(action("approve").status(r).status, ActionStatus::Active);  // nothing recorded
  decide(run_dir, "Gate-0", true, "alice", "moved by hand", {{"centre", 66}});
  const ActionState s = action("approve").status(r);
  ASSERT_EQ(s.status, ActionStatus::Succeeded);
  EXPECT_EQ(s.details["values"], (Json{{"centre", 66}, {"rows", "0:8"}}));
  EXPECT_EQ(s.details["corrected"], (Json{{"centre", {{"from", 63.5}, {"to", 66}}}}));
}

TEST_F(ApproveTest, RejectionFails) {
  const auto r = request(Json::object(), "Gate");
  action("approve").run(r);
  EXPECT_EQ(pending_approvals(run_dir).at(0).prompt, "Approve to continue?");
  decide(run_dir, "Gate-0", false, "bob", "beam was unstable");
  const ActionState s = action("approve").status(r);
  EXPECT_EQ(s.status, ActionStatus::Failed);
  EXPECT_EQ(s.error, "Approval.Rejected");
  EXPECT_EQ(s.cause, "bob: beam was unstable");
}

TEST_F(ApproveTest, TimesOut) {
  const auto r = request({{"timeout_seconds", 0.05}}, "Gate");
  action("approve").run(r);
  ASSERT_TRUE(pending_approvals(run_dir).at(0).expires_at.has_value());
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  EXPECT_TRUE(pending_approvals(run_dir).empty());
  const auto [id, what] = error_of([&] { decide(run_dir, "Gate-0", true, "alice", ""); });
  EXPECT_EQ(id, "approve.timed_out");
  const ActionState s = action("approve").status(r);
  EXPECT_EQ(s.error, "Approval.Timeout");
  EXPECT_EQ(s.cause.substr(0, 23), "no decision within 0.05");
  EXPECT_EQ(error_of([&] { decide(run_dir, "Gate-0", true, "alice", ""); }).first, "approve.timed_out");
}

// The deadline is long enough that a loaded machine still decides before it
// (at 0.05 s a loaded machine could pass it between run and decide); the
// look comes after it has passed.
TEST_F(ApproveTest, DecisionBeforeTheDeadlineWinsOverALateLook) {
  const auto r = request({{"timeout_seconds", 1.0}}, "Gate");
  action("approve").run(r);
  const auto deadline_passed = std::chrono::steady_clock::now() + std::chrono::milliseconds(1050);
  decide(run_dir, "Gate-0", true, "alice", "");
  std::this_thread::sleep_until(deadline_passed);
  EXPECT_EQ(action("approve").status(r).status, ActionStatus::Succeeded);
}

TEST_F(ApproveTest, SecondDecisionIsRefused) {
  action("approve").run(request(Json::object(), "Gate"));
  decide(run_dir, "Gate-0", true, "alice", "");
  const auto [id, what] = error_of([&] { decide(run_dir, "Gate-0", false, "bob", "no"); });
  EXPECT_EQ(id, "approve.already_decided");
  EXPECT_EQ(what.substr(0, 52), "[approve.already_decided] already approved by alice ");
  EXPECT_NE(what.find("(action=Gate-0)"), std::string::npos);
}

TEST_F(ApproveTest, OnlyListedApproversMayDecide) {
  action("approve").run(request({{"approvers", {"alice", "carol"}}}, "Gate"));
  EXPECT_EQ(pending_approvals(run_dir).at(0).approvers, (std::vector<std::string>{"alice", "carol"}));
  const auto [id, what] = error_of([&] { decide(run_dir, "Gate-0", true, "mallory", ""); });
  EXPECT_EQ(id, "approve.not_allowed");
  EXPECT_EQ(what,
            "[approve.not_allowed] 'mallory' may not decide this request (approvers: alice, carol) "
            "(action=Gate-0)");
  decide(run_dir, "Gate-0", true, "carol", "");
}

TEST_F(ApproveTest, BadDecisionsAreRefused) {
  action("approve").run(request(Json::object(), "Gate"));
  EXPECT_EQ(error_of([&] { decide(run_dir, "Gate-0", false, "bob", ""); }).second,
            "[approve.invalid] a rejection needs a reason (action=Gate-0)");
  EXPECT_EQ(error_of([&] { decide(run_dir, "Gate-0", true, "", ""); }).second,
            "[approve.invalid] a decision needs the name of who decides (action=Gate-0)");
  EXPECT_EQ(error_of([&] { decide(run_dir, "Nope-0", true, "a", ""); }).second,
            "[approve.not_found] no approval request with this action id (action=Nope-0)");
  EXPECT_EQ(error_of([&] { decide(run_dir, "../x", true, "a", ""); }).first, "approve.not_found");
}

TEST_F(ApproveTest, CancelClosesTheRequest) {
  const auto r = request(Json::object(), "Gate");
  action("approve").run(r);
  EXPECT_EQ(action("approve").cancel(r).error, "Action.Cancelled");
  EXPECT_TRUE(pending_approvals(run_dir).empty());
  EXPECT_EQ(error_of([&] { decide(run_dir, "Gate-0", true, "a", ""); }).second,
            "[approve.closed] the request is closed: Action.Cancelled: approval request cancelled "
            "(action=Gate-0)");
}

TEST_F(ApproveTest, OnlyPendingNeedsExactlyOne) {
  EXPECT_EQ(error_of([&] { only_pending(run_dir); }).second,
            "[approve.none_pending] the run has no pending approval (run_dir=" + run_dir.string() + ")");
  action("approve").run(request({{"prompt", "first"}}, "A"));
  action("approve").run(request({{"prompt", "second"}}, "B"));
  const auto [id, what] = error_of([&] { only_pending(run_dir); });
  EXPECT_EQ(id, "approve.ambiguous");
  EXPECT_EQ(what.rfind("[approve.ambiguous] 2 approvals are pending; choose one with --action ACTION_ID:\n", 0),
            0u);
  EXPECT_NE(what.find("\n  A-0 (state A, requested "), std::string::npos);
  EXPECT_NE(what.find("): first"), std::string::npos);
  EXPECT_NE(what.find("\n  B-0 (state B, requested "), std::string::npos);
}

TEST_F(ApproveTest, PendingIgnoresOtherActionsAndMissingFolders) {
  EXPECT_TRUE(pending_approvals(run_dir / "no-such-run").empty());
  action("flaky").run(request({{"failures", 0}}, "F"));
  drive(action("sleep"), request({{"seconds", 0}}, "S"));
  EXPECT_TRUE(pending_approvals(run_dir).empty());
}

TEST_F(ApproveTest, RejectsBadInput) {
  EXPECT_EQ(action("approve").run(request({{"timeout_seconds", -1}})).cause,
            "approve: input.timeout_seconds must be > 0");
  EXPECT_EQ(action("approve").run(request({{"approvers", "alice"}})).cause,
            "approve: input.approvers must be an array of strings, got string");
}

}  // namespace
}  // namespace beamflow::actions::testing
