#include "actions/approval.hpp"

#include <algorithm>

#include "actions/durable.hpp"
#include "core/error.hpp"

namespace beamflow::actions {

namespace stdfs = std::filesystem;
using namespace detail;

namespace {

[[noreturn]] void refuse(const std::string& id, const std::string& message,
                         const std::string& action_id) {
  throw Error(id, states_error::Runtime, message, {{"action", action_id}});
}

bool is_request(const Json& j) { return j.is_object() && j.value("kind", "") == "approval"; }

PendingApproval to_pending(const std::string& action_id, const Json& request) {
  PendingApproval p;
  p.action_id = action_id;
  p.run_id = request.value("run_id", "");
  p.state_name = request.value("state", "");
  p.prompt = request.value("prompt", "");
  p.approvers = request.value("approvers", std::vector<std::string>{});
  p.requested_at = request.value("requested_at", "");
  if (const auto deadline = deadline_of(request)) p.expires_at = durable::rfc3339(*deadline);
  if (request.contains("values") && request["values"].is_object()) p.values = request["values"];
  return p;
}

// The proposed values with the corrections applied; `changed` gets
// {key: {from, to}} for each value a correction changed.
Json corrected_values(const Json& proposed, const Json& corrections, const std::string& action_id, Json& changed) {
  changed = Json::object();
  Json values = proposed;
  for (auto it = corrections.begin(); it != corrections.end(); ++it) {
    if (!proposed.contains(it.key())) {
      std::string names;
      for (auto p = proposed.begin(); p != proposed.end(); ++p) names += (names.empty() ? "" : ", ") + p.key();
      refuse("approve.invalid",
             "'" + it.key() + "' is not a value this request proposes (" + (names.empty() ? "none" : names) + ")",
             action_id);
    }
    const Json& was = proposed[it.key()];
    const bool same_type = (was.is_number() && it.value().is_number()) || was.type() == it.value().type() ||
                           was.is_null();
    if (!same_type)
      refuse("approve.invalid",
             "'" + it.key() + "' is " + std::string(was.type_name()) + " (proposed " + was.dump() + "), not " +
                 it.value().type_name() + " (" + it.value().dump() + ")",
             action_id);
    if (was != it.value()) changed[it.key()] = {{"from", was}, {"to", it.value()}};
    values[it.key()] = it.value();
  }
  return values;
}

std::string describe(const PendingApproval& p) {
  return p.action_id + " (state " + p.state_name + ", requested " + p.requested_at + "): " + p.prompt;
}

}  // namespace

namespace detail {

ActionState outcome_of(const std::string& action_id, const Json& decision) {
  const std::string by = decision.value("by", "");
  if (decision.value("approved", false)) {
    Json out = {{"approved", true},
                {"by", by},
                {"comment", decision.value("comment", "")},
                {"decided_at", decision.value("decided_at", "")}};
    // The proposed values, as corrected (only when the request proposed some).
    if (decision.contains("values")) {
      out["values"] = decision["values"];
      out["corrected"] = decision.value("corrected", Json::object());
    }
    return ActionState::succeeded(action_id, out);
  }
  ActionState s = ActionState::failed(action_id, "Approval.Rejected",
                                      by + ": " + decision.value("reason", ""));
  s.details = decision;
  return s;
}

std::optional<Clock::time_point> deadline_of(const Json& request) {
  if (!request.contains("deadline_ms")) return std::nullopt;
  return durable::from_epoch_ms(request["deadline_ms"].get<long long>());
}

}  // namespace detail

std::vector<PendingApproval> pending_approvals(const stdfs::path& run_dir) {
  std::vector<PendingApproval> pending;
  std::error_code ec;
  stdfs::directory_iterator it(run_dir / "actions", ec), end;
  if (ec) return pending;
  const auto now = Clock::now();
  for (; it != end; it.increment(ec)) {
    if (ec) break;
    const stdfs::path dir = it->path();
    if (stdfs::exists(dir / kDecisionFile) || stdfs::exists(dir / durable::kResultFile)) continue;
    const auto request = durable::read_json(dir / kRequestFile);
    if (!request || !is_request(*request)) continue;
    if (const auto deadline = deadline_of(*request); deadline && *deadline <= now) continue;
    pending.push_back(to_pending(dir.filename().string(), *request));
  }
  std::sort(pending.begin(), pending.end(), [](const auto& a, const auto& b) {
    return std::tie(a.requested_at, a.action_id) < std::tie(b.requested_at, b.action_id);
  });
  return pending;
}

void decide(const stdfs::path& run_dir, const std::string& action_id, bool approve, std::string by,
            std::string reason, const Json& corrections) {
  if (by.empty()) refuse("approve.invalid", "a decision needs the name of who decides", action_id);
  if (!approve && reason.empty()) refuse("approve.invalid", "a rejection needs a reason", action_id);
  if (!corrections.is_object()) refuse("approve.invalid", "corrections must be a JSON object", action_id);
  if (!approve && !corrections.empty())
    refuse("approve.invalid", "a rejection corrects nothing: approve with the corrected values", action_id);
  const stdfs::path dir = run_dir / "actions" / action_id;
  if (action_id.empty() || action_id.find('/') != std::string::npos ||
      !stdfs::exists(dir / kRequestFile)) {
    refuse("approve.not_found", "no approval request with this action id", action_id);
  }
  const auto lock = durable::lock_wait(dir / kApprovalLock);
  const auto request = durable::read_json(dir / kRequestFile);
  if (!request || !is_request(*request)) {
    refuse("approve.not_found", "no approval request with this action id", action_id);
  }
  if (const auto previous = durable::read_json(dir / kDecisionFile)) {
    refuse("approve.already_decided",
           std::string("already ") + (previous->value("approved", false) ? "approved" : "rejected") +
               " by " + previous->value("by", "?") + " at " + previous->value("decided_at", "?"),
           action_id);
  }
  if (const auto closed = durable::load_result(dir, action_id);
      closed && closed->error != "Approval.Timeout") {
    refuse("approve.closed", "the request is closed: " + closed->error + ": " + closed->cause,
           action_id);
  }
  const auto deadline = deadline_of(*request);
  if (stdfs::exists(dir / durable::kResultFile) || (deadline && *deadline <= Clock::now())) {
    refuse("approve.timed_out",
           "the request timed out" + (deadline ? " at " + durable::rfc3339(*deadline) : std::string()),
           action_id);
  }
  const auto approvers = request->value("approvers", std::vector<std::string>{});
  if (!approvers.empty() && std::find(approvers.begin(), approvers.end(), by) == approvers.end()) {
    std::string list;
    for (const auto& a : approvers) list += (list.empty() ? "" : ", ") + a;
    refuse("approve.not_allowed", "'" + by + "' may not decide this request (approvers: " + list + ")",
           action_id);
  }
  Json decision = {{"approved", approve},
                   {"by", std::move(by)},
                   {"decided_at", durable::rfc3339(Clock::now())}};
  decision[approve ? "comment" : "reason"] = std::move(reason);
  if (const Json proposed = request->value("values", Json()); proposed.is_object()) {
    decision["values"] = corrected_values(proposed, corrections, action_id, decision["corrected"]);
  } else if (!corrections.empty()) {
    refuse("approve.invalid", "this request proposes no values to correct", action_id);
  }
  durable::write_json(dir / kDecisionFile, decision);
}

PendingApproval only_pending(const stdfs::path& run_dir) {
  const auto pending = pending_approvals(run_dir);
  if (pending.empty()) {
    throw Error("approve.none_pending", states_error::Runtime, "the run has no pending approval",
                {{"run_dir", run_dir.string()}});
  }
  if (pending.size() > 1) {
    std::string list;
    for (const auto& p : pending) list += "\n  " + describe(p);
    throw Error("approve.ambiguous", states_error::Runtime,
                std::to_string(pending.size()) +
                    " approvals are pending; choose one with --action ACTION_ID:" + list);
  }
  return pending.front();
}

}  // namespace beamflow::actions
