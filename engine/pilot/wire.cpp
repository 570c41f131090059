#include "pilot/wire.hpp"

#include "core/error.hpp"
#include "core/json_parse.hpp"

namespace beamflow::pilot::wire {

Json to_json(const actions::Placement& p) {
  return {{"ranks", p.ranks},
          {"own_process", p.own_process},
          {"no_outcome", {{"id", p.no_outcome.id}, {"error", p.no_outcome.error}, {"what", p.no_outcome.what}}},
          {"nodes", p.nodes},
          {"hosts", p.hosts}};
}

actions::Placement placement_from_json(const Json& j) {
  actions::Placement p;
  p.ranks = j.at("ranks").get<int>();
  p.own_process = j.at("own_process").get<bool>();
  const Json& n = j.at("no_outcome");
  p.no_outcome = {n.at("id").get<std::string>(), n.at("error").get<std::string>(), n.at("what").get<std::string>()};
  p.nodes = j.value("nodes", std::string());
  p.hosts = j.value("hosts", std::vector<std::string>());
  return p;
}

Json to_json(const actions::ActionState& s) {
  return {{"status", actions::to_string(s.status)}, {"details", s.details}, {"error", s.error}, {"cause", s.cause}};
}

actions::ActionState state_from_json(const Json& j) {
  actions::ActionState s;
  const std::string status = j.at("status").get<std::string>();
  s.status = status == "SUCCEEDED" ? actions::ActionStatus::Succeeded
             : status == "FAILED"  ? actions::ActionStatus::Failed
                                   : actions::ActionStatus::Active;
  s.details = j.at("details");
  s.error = j.at("error").get<std::string>();
  s.cause = j.at("cause").get<std::string>();
  return s;
}

Json parse(const std::string& bytes) {
  auto j = try_parse_json(bytes);
  if (!j || !j->is_object() || !j->contains("t") || !(*j)["t"].is_string())
    throw Error("pilot.wire", states_error::Runtime, "a pilot message is not a JSON object with a type",
                {{"bytes", bytes.substr(0, 200)}});
  return *j;
}

}  // namespace beamflow::pilot::wire
