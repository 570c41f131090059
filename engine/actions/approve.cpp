// approve: waits for a human decision (`beamflow approve` / `beamflow
// reject`). It costs nothing while it waits: the engine polls status() every
// half second, and status() only reads two small files.
#include <cmath>

#include "actions/approval.hpp"
#include "actions/builtin_action.hpp"
#include "actions/builtins.hpp"
#include "actions/durable.hpp"
#include "core/error.hpp"

namespace beamflow::actions {
namespace {

using namespace detail;
using std::chrono::milliseconds;

constexpr milliseconds kPoll{500};

class ApproveAction final : public BuiltinAction {
 public:
  ApproveAction()
      : BuiltinAction(
            "approve",
            "Waits for a person to run `beamflow approve` (succeeds with {approved, by, comment, "
            "decided_at}, and {values, corrected} when the input proposed values) or `beamflow reject` "
            "(fails with Approval.Rejected).",
            Timing::Asynchronous, Effects::Observable,
            InputSpec({Field::of(FieldType::String, "prompt",
                                 "what the approver is asked; default \"Approve to continue?\""),
                       Field::of(FieldType::String, "message", "synonym of prompt"),
                       Field::of(FieldType::StringArray, "approvers",
                                 "login names allowed to decide; default: anyone"),
                       Field::of(FieldType::Any, "values",
                                 "proposed values (an object, e.g. {\"centre\": 63.5}) the approver may "
                                 "correct (`beamflow approve --set centre=66.5`); the result's \"values\" "
                                 "holds them as decided"),
                       Field::of(FieldType::Number, "timeout_seconds",
                                 "fail with Approval.Timeout when undecided this long")
                           .above(0)
                           .at_most(1e9)})) {}

  ActionState run(const ActionRequest& r) override {
    return checked(r, [&] {
      if (!durable::read_json(r.state_dir / kRequestFile)) durable::write_json(r.state_dir / kRequestFile, request_of(r));
      return poll(r);
    });
  }

  ActionState status(const ActionRequest& r) override { return run(r); }

  // Only waits: needs no rank of a pilot (Placement::ranks).
  Placement placement(const ActionRequest&) const override {
    Placement p;
    p.ranks = 0;
    return p;
  }

  ActionState cancel(const ActionRequest& r) override {
    return checked(r, [&] {
      const auto lock = durable::lock_wait(r.state_dir / kApprovalLock);
      if (auto done = settled(r)) return *done;
      return durable::save_result(r.state_dir, cancelled(r, "approval request cancelled"));
    });
  }

 private:
  static Json request_of(const ActionRequest& r) {
    const auto now = Clock::now();
    Json j = {{"kind", "approval"},
              {"action_id", r.action_id},
              {"run_id", r.run_id},
              {"state", r.state_name},
              {"prompt", r.input.value("prompt", r.input.value("message", "Approve to continue?"))},
              {"approvers", r.input.value("approvers", Json::array())},
              {"requested_at", durable::rfc3339(now)}};
    if (r.input.contains("values")) {
      if (!r.input["values"].is_object())
        throw Error("approve.invalid", states_error::Runtime, "'values' must be a JSON object of proposed values",
                    {{"action", r.action_id}});
      j["values"] = r.input["values"];
    }
    if (r.input.contains("timeout_seconds")) {
      const double seconds = r.input["timeout_seconds"].get<double>();
      j["timeout_seconds"] = r.input["timeout_seconds"];
      j["deadline_ms"] = durable::epoch_ms(now) + std::llround(seconds * 1000.0);
    }
    return j;
  }

  // The recorded outcome or the decision, if there is one.
  static std::optional<ActionState> settled(const ActionRequest& r) {
    if (auto done = durable::load_result(r.state_dir, r.action_id)) return done;
    if (const auto decision = durable::read_json(r.state_dir / kDecisionFile)) {
      return durable::save_result(r.state_dir, outcome_of(r.action_id, *decision));
    }
    return std::nullopt;
  }

  static ActionState poll(const ActionRequest& r) {
    if (auto done = settled(r)) return *done;
    const Json request = *durable::read_json(r.state_dir / kRequestFile);
    const auto deadline = deadline_of(request);
    if (deadline && Clock::now() >= *deadline) {
      // Under the lock decide() takes, so a decision and the timeout cannot
      // both be recorded.
      const auto lock = durable::lock_wait(r.state_dir / kApprovalLock);
      if (auto done = settled(r)) return *done;
      return durable::save_result(
          r.state_dir, ActionState::failed(r.action_id, "Approval.Timeout",
                                           "no decision within " +
                                               request.at("timeout_seconds").dump() +
                                               " s (requested at " +
                                               request.value("requested_at", "?") + ")"));
    }
    return ActionState::active(r.action_id, kPoll,
                               {{"prompt", request.value("prompt", "")},
                                {"requested_at", request.value("requested_at", "")}});
  }
};

}  // namespace

std::shared_ptr<Action> make_approve_action() { return std::make_shared<ApproveAction>(); }

}  // namespace beamflow::actions
