// The action registry: Task Resource strings and ActionUrls to actions.
#include <string_view>

#include "actions/action.hpp"
#include "actions/builtins.hpp"
#include "core/error.hpp"

namespace beamflow::actions {
namespace {

// The action name a resource string designates, or "" when the form is not
// one of ours.
std::string name_in_resource(std::string_view r) {
  if (r.starts_with("beamflow:")) return std::string(r.substr(9));
  if (r.starts_with("arn:")) {
    // arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE... — AWS Step Functions
    // service integrations ("arn:aws:states:::lambda:invoke") name an AWS API,
    // never an action of ours, whatever their last segment.
    std::size_t pos = 4;
    std::string_view parts[3];
    for (auto& part : parts) {
      const std::size_t end = r.find(':', pos);
      if (end == std::string_view::npos) return {};
      part = r.substr(pos, end - pos);
      pos = end + 1;
    }
    if (parts[1] == "states" && parts[2].empty()) return {};
    return std::string(r.substr(r.rfind(':') + 1));
  }
  if (const std::size_t scheme = r.find("://"); scheme != std::string_view::npos) {
    std::string_view rest = r.substr(scheme + 3);
    rest = rest.substr(0, rest.find_first_of("?#"));
    const std::size_t slash = rest.find('/');
    if (slash == std::string_view::npos) return {};  // a bare host names nothing
    std::string_view path = rest.substr(slash);
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    return std::string(path.substr(path.rfind('/') + 1));
  }
  return {};
}

}  // namespace

void ActionRegistry::add(std::shared_ptr<Action> action) {
  if (!action) {
    throw Error("action.registry", states_error::Runtime, "cannot register a null action");
  }
  const std::string name = action->info().name;
  if (name.empty() || name.find_first_of(":/") != std::string::npos) {
    throw Error("action.registry", states_error::Runtime,
                "action names must be non-empty and contain no ':' or '/'", {{"action", name}});
  }
  if (!m_actions.emplace(name, std::move(action)).second) {
    throw Error("action.registry", states_error::Runtime, "an action with this name is already registered",
                {{"action", name}});
  }
}

void ActionRegistry::alias(std::string resource, std::string action_name) {
  m_aliases[std::move(resource)] = std::move(action_name);
}

Action* ActionRegistry::resolve(const std::string& resource) const {
  auto find = [&](const std::string& name) -> Action* {
    const auto it = m_actions.find(name);
    return it == m_actions.end() ? nullptr : it->second.get();
  };
  if (const auto a = m_aliases.find(resource); a != m_aliases.end()) return find(a->second);
  if (Action* exact = find(resource)) return exact;
  const std::string name = name_in_resource(resource);
  return name.empty() ? nullptr : find(name);
}

std::vector<const ActionInfo*> ActionRegistry::list() const {
  std::vector<const ActionInfo*> infos;
  infos.reserve(m_actions.size());
  for (const auto& [name, action] : m_actions) infos.push_back(&action->info());
  return infos;
}

void register_builtin_actions(ActionRegistry& registry) {
  registry.add(make_echo_action());
  registry.add(make_fail_action());
  registry.add(make_add_action());
  registry.add(make_flaky_action());
  registry.add(make_abort_action());
  registry.add(make_sleep_action());
  registry.add(make_command_action({.supervisor_exe = current_executable()}));
  registry.add(make_approve_action());
  registry.add(make_provenance_action());
}

}  // namespace beamflow::actions
