#pragma once
// What the `command` action runs, as handed from the engine to its detached
// supervisor through state_dir/spec.json, and the files the two share in the
// action's state directory.
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "actions/action.hpp"
#include "actions/input_spec.hpp"
#include "core/json.hpp"

namespace beamflow::actions::command {

// Files in ActionRequest::state_dir.
namespace files {
inline constexpr const char* kLock = "lock";          // flock held by the live supervisor
inline constexpr const char* kSpec = "spec.json";     // CommandSpec, written before launch
inline constexpr const char* kStarted = "started";    // durable: the command may have run
inline constexpr const char* kStdin = "stdin";
inline constexpr const char* kStdout = "stdout";      // full output, kept after the run
inline constexpr const char* kStderr = "stderr";
inline constexpr const char* kCancel = "cancel";      // cancel request
inline constexpr const char* kLog = "supervisor.log"; // the supervisor's own diagnostics
// An action run as a child process (actions/child.hpp):
inline constexpr const char* kRequest = "request.json";  // its ActionRequest, written before launch
inline constexpr const char* kChildDir = "child";        // its own state_dir; result.json there is its outcome
}  // namespace files

struct CommandSpec {
  std::vector<std::string> argv;
  std::filesystem::path cwd;                 // absolute
  std::map<std::string, std::string> env;    // added to the inherited environment
  std::vector<std::string> unset_env;        // removed from it first (a nested mpiexec's, platform::nested_launch)
  std::optional<double> timeout_seconds;
  std::optional<std::string> stdin_data;     // /dev/null when absent
  std::chrono::milliseconds kill_grace{5000};
  // Set when the process is an action run as a child (`beamflow __action`):
  // its outcome is the one it records in state_dir/child/result.json, and
  // this is recorded when it ends without one. Unset for `command`.
  std::optional<Placement::NoOutcome> child;

  Json to_json() const;
  // Throws Error "action.state_corrupt" when `j` is not a spec.
  static CommandSpec from_json(const Json& j);
};

// The input fields of the `command` action.
const InputSpec& input_spec();
// From an input that matched input_spec(); relative cwd resolves against
// `work_dir`.
CommandSpec spec_from_input(const Json& input, const std::filesystem::path& work_dir,
                            std::chrono::milliseconds kill_grace);

}  // namespace beamflow::actions::command
