#include "actions/action.hpp"

namespace beamflow::actions {

const char* to_string(ActionStatus s) noexcept {
  switch (s) {
    case ActionStatus::Active: return "ACTIVE";
    case ActionStatus::Inactive: return "INACTIVE";
    case ActionStatus::Succeeded: return "SUCCEEDED";
    case ActionStatus::Failed: return "FAILED";
  }
  return "UNKNOWN";
}

ActionState ActionState::succeeded(std::string id, Json details) {
  ActionState s;
  s.action_id = std::move(id);
  s.status = ActionStatus::Succeeded;
  s.details = std::move(details);
  return s;
}

ActionState ActionState::failed(std::string id, std::string error, std::string cause) {
  ActionState s;
  s.action_id = std::move(id);
  s.status = ActionStatus::Failed;
  s.error = std::move(error);
  s.cause = std::move(cause);
  return s;
}

ActionState ActionState::active(std::string id, std::chrono::milliseconds poll_after, Json details) {
  ActionState s;
  s.action_id = std::move(id);
  s.status = ActionStatus::Active;
  s.poll_after = poll_after;
  s.details = std::move(details);
  return s;
}

}  // namespace beamflow::actions
