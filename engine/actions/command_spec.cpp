#include "actions/command_spec.hpp"

#include "core/error.hpp"

namespace beamflow::actions::command {

Json CommandSpec::to_json() const {
  Json j = {{"argv", argv},
            {"cwd", cwd.string()},
            {"env", env},
            {"kill_grace_ms", kill_grace.count()}};
  if (timeout_seconds) j["timeout_seconds"] = *timeout_seconds;
  if (stdin_data) j["stdin"] = *stdin_data;
  if (!unset_env.empty()) j["unset_env"] = unset_env;
  if (child) j["child"] = {{"id", child->id}, {"error", child->error}, {"what", child->what}};
  return j;
}

CommandSpec CommandSpec::from_json(const Json& j) {
  try {
    CommandSpec s;
    s.argv = j.at("argv").get<std::vector<std::string>>();
    s.cwd = j.at("cwd").get<std::string>();
    s.env = j.at("env").get<std::map<std::string, std::string>>();
    s.kill_grace = std::chrono::milliseconds(j.at("kill_grace_ms").get<long long>());
    if (j.contains("timeout_seconds")) s.timeout_seconds = j["timeout_seconds"].get<double>();
    if (j.contains("unset_env")) s.unset_env = j["unset_env"].get<std::vector<std::string>>();
    if (j.contains("stdin")) s.stdin_data = j["stdin"].get<std::string>();
    if (j.contains("child")) {
      const Json& c = j["child"];
      s.child = Placement::NoOutcome{c.at("id").get<std::string>(), c.at("error").get<std::string>(),
                                     c.at("what").get<std::string>()};
    }
    if (s.argv.empty()) throw std::invalid_argument("argv is empty");
    return s;
  } catch (const std::exception& e) {
    throw Error("action.state_corrupt", states_error::Runtime,
                std::string("command spec is malformed: ") + e.what());
  }
}

const InputSpec& input_spec() {
  static const InputSpec spec({
      Field::of(FieldType::StringArray, "argv",
                "program and arguments, run directly (no shell); argv[0] is looked up in PATH")
          .mandatory()
          .not_empty()
          .for_exec(),
      Field::of(FieldType::String, "cwd",
                "working directory, relative to the run's working directory; default: that")
          .for_exec(),
      Field::of(FieldType::StringMap, "env", "variables added to the inherited environment")
          .for_exec(),
      Field::of(FieldType::Number, "timeout_seconds",
                "kill the command (SIGTERM, then SIGKILL) after this long")
          .above(0)
          .at_most(1e9),
      Field::of(FieldType::String, "stdin", "text fed to standard input"),
  });
  return spec;
}

CommandSpec spec_from_input(const Json& input, const std::filesystem::path& work_dir,
                            std::chrono::milliseconds kill_grace) {
  CommandSpec s;
  s.argv = input.at("argv").get<std::vector<std::string>>();
  const auto base = std::filesystem::absolute(work_dir.empty() ? std::filesystem::current_path()
                                                               : work_dir);
  s.cwd = (base / input.value("cwd", "")).lexically_normal();
  if (input.contains("env")) s.env = input["env"].get<std::map<std::string, std::string>>();
  if (input.contains("timeout_seconds")) s.timeout_seconds = input["timeout_seconds"].get<double>();
  if (input.contains("stdin")) s.stdin_data = input["stdin"].get<std::string>();
  s.kill_grace = kill_grace;
  return s;
}

}  // namespace beamflow::actions::command
