#include "actions/action.hpp"

#include <ostream>

namespace beamflow::actions {

SharedPath::SharedPath(std::string text) {
  if (!text.empty()) m_rep = std::make_shared<const Rep>(std::move(text));
}

const std::string& SharedPath::native() const noexcept {
  static const std::string empty;
  return m_rep ? m_rep->text : empty;
}

const std::filesystem::path& SharedPath::path() const {
  static const std::filesystem::path empty;
  if (!m_rep) return empty;
  const std::filesystem::path* p = m_rep->parsed.load(std::memory_order_acquire);
  if (p) return *p;
  auto made = std::make_unique<const std::filesystem::path>(m_rep->text);
  // Two threads may parse at once: the first to publish wins, the other's is dropped.
  if (m_rep->parsed.compare_exchange_strong(p, made.get(), std::memory_order_acq_rel, std::memory_order_acquire))
    return *made.release();
  return *p;
}

std::ostream& operator<<(std::ostream& os, const SharedPath& p) { return os << p.path(); }

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
          {"state_name", r.state_name}, {"attempt", r.attempt},   {"state_dir", r.state_dir.native()},
          {"run_dir", r.run_dir.native()}, {"work_dir", r.work_dir.native()}};
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
