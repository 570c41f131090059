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

Json to_json(const ActionRequest& r) {
  return {{"action_id", r.action_id}, {"input", r.input},          {"run_id", r.run_id},
          {"state_name", r.state_name}, {"attempt", r.attempt},   {"state_dir", r.state_dir.string()},
          {"run_dir", r.run_dir.string()}, {"work_dir", r.work_dir.string()}};
}

ActionRequest request_from_json(const Json& j) {
  ActionRequest r;
  r.action_id = j.at("action_id").get<std::string>();
  r.input = j.at("input");
  r.run_id = j.at("run_id").get<std::string>();
  r.state_name = j.at("state_name").get<std::string>();
  r.attempt = j.at("attempt").get<int>();
  r.state_dir = j.value("state_dir", std::string());
  r.run_dir = j.at("run_dir").get<std::string>();
  r.work_dir = j.at("work_dir").get<std::string>();
  return r;
}

}  // namespace beamflow::actions
