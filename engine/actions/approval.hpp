#pragma once
// Human-in-the-loop approvals: what `beamflow approve` / `beamflow reject`
// use to find and decide the pending requests of the `approve` action.
//
// Files in the approve action's state_dir (run_dir/actions/ACTION_ID/):
//   request.json   written by the action's run(): prompt, approvers, deadline
//   decision.json  written once by decide(), atomically, under state_dir/lock
//   result.json    the outcome, once the action saw it (or timed out)
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "actions/action.hpp"

namespace beamflow::actions {

struct PendingApproval {
  std::string action_id;
  std::string run_id;
  std::string state_name;
  std::string prompt;
  std::vector<std::string> approvers;      // who may decide; empty: anyone
  std::string requested_at;                // RFC 3339
  std::optional<std::string> expires_at;   // RFC 3339, when the input set timeout_seconds
  Json values = Json::object();            // proposed values the decider may correct
};

// Requests under run_dir/actions/*/ with no decision yet and not timed out,
// oldest first. An empty list when the run has none (or no actions/ folder).
std::vector<PendingApproval> pending_approvals(const std::filesystem::path& run_dir);

// Records the decision on one request (atomic write, under the action's
// lock). `reason` is the comment of an approval, the reason of a rejection
// (required then). `corrections` (an object; approvals only) sets some of
// the values the request proposed (the approve action's input "values",
// e.g. {"centre": 63.5}): the action then succeeds with those values
// corrected, the others as proposed, and the corrections listed
// ({"centre": {"from": 63.5, "to": 66.5}}). A correction must name a
// proposed value and have its JSON type (a number for a number), so a typo
// never goes unnoticed. Throws Error:
//   approve.not_found        no approval request with that action id
//   approve.already_decided  a decision was already recorded
//   approve.timed_out        the request's timeout_seconds passed first
//   approve.closed           the action ended otherwise (cancelled)
//   approve.not_allowed      `by` is not one of the request's approvers
//   approve.invalid          empty `by`, a rejection without a reason, or a
//                            correction that is not a proposed value or not
//                            of its type (or comes with a rejection)
void decide(const std::filesystem::path& run_dir, const std::string& action_id, bool approve,
            std::string by, std::string reason, const Json& corrections = Json::object());

// The run's only pending request, for a decision that names none. Throws
// approve.none_pending (nothing to decide) or approve.ambiguous (several
// pending; the message lists them).
PendingApproval only_pending(const std::filesystem::path& run_dir);

namespace detail {
inline constexpr const char* kRequestFile = "request.json";
inline constexpr const char* kDecisionFile = "decision.json";
inline constexpr const char* kApprovalLock = "lock";
// The outcome a decision.json record stands for.
ActionState outcome_of(const std::string& action_id, const Json& decision);
// When the request times out, if it does.
std::optional<Clock::time_point> deadline_of(const Json& request);
}  // namespace detail

}  // namespace beamflow::actions
