#pragma once
// Common base of the built-in actions: the ActionInfo with its schema taken
// from the InputSpec, input checking before any work, and errors turned into
// Failed states.
#include <string>
#include <utility>

#include "actions/action.hpp"
#include "actions/input_spec.hpp"
#include "core/error.hpp"
#include "platform/storage_failure.hpp"

namespace beamflow::actions {

enum class Timing { Synchronous, Asynchronous };
// Observable: running the action twice could be seen (ActionInfo::side_effects).
enum class Effects { None, Observable };

class BuiltinAction : public Action {
 public:
  BuiltinAction(std::string name, std::string description, Timing timing, Effects effects,
                InputSpec spec)
      : m_spec(std::move(spec)) {
    m_info.name = std::move(name);
    m_info.description = std::move(description);
    m_info.input_schema = m_spec.schema();
    m_info.synchronous = timing == Timing::Synchronous;
    m_info.side_effects = effects == Effects::Observable;
  }
  const ActionInfo& info() const override { return m_info; }

 protected:
  // Checks the input against the spec, then calls `body`. A beamflow::Error
  // escaping `body` becomes a Failed state with its ASL name and message, so
  // a full disk or a bad path is a flow error the flow's Retry/Catch sees
  // rather than an exception through the engine.
  template <class Body>
  ActionState checked(const ActionRequest& request, Body&& body) const {
    if (auto why = m_spec.check(request.input)) return invalid_input(request, m_info.name, *why);
    try {
      return body();
    } catch (const Error& e) {
      // A failure of the storage beamflow keeps the action's state on is not
      // the action's failure: the engine stops the run INTERRUPTED instead.
      if (fs::is_storage_failure(e)) throw;
      return ActionState::failed(request.action_id, e.asl_name(), e.what());
    }
  }

 private:
  ActionInfo m_info;
  InputSpec m_spec;
};

// Failed "Action.Cancelled" with `why` as the cause.
inline ActionState cancelled(const ActionRequest& request, std::string why) {
  return ActionState::failed(request.action_id, "Action.Cancelled", std::move(why));
}

// A synchronous action: run() gives the final state, status() asks again
// (run() is idempotent in the action_id), cancel() has nothing in flight.
class SyncAction : public BuiltinAction {
 public:
  SyncAction(std::string name, std::string description, Effects effects, InputSpec spec)
      : BuiltinAction(std::move(name), std::move(description), Timing::Synchronous, effects,
                      std::move(spec)) {}
  ActionState run(const ActionRequest& request) override {
    return checked(request, [&] { return compute(request); });
  }
  ActionState status(const ActionRequest& request) override { return run(request); }
  ActionState cancel(const ActionRequest& request) override {
    return cancelled(request, info().name + " is synchronous: nothing was in flight");
  }

 protected:
  // Called with input that matched the spec.
  virtual ActionState compute(const ActionRequest& request) = 0;
};

}  // namespace beamflow::actions
