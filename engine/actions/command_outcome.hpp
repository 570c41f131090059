#pragma once
// How a finished command becomes the `command` action's outcome: output
// tails, stdout parsed as JSON, and the error names a flow's Retry/Catch sees.
#include <cstddef>
#include <filesystem>
#include <string>

#include "actions/action.hpp"
#include "actions/command_spec.hpp"

namespace beamflow::actions::command {

inline constexpr std::size_t kOutputTailBytes = 64 * 1024;  // stdout/stderr in the output
inline constexpr std::size_t kCauseTailBytes = 2 * 1024;    // stderr quoted in a cause
inline constexpr std::size_t kJsonMaxBytes = 16u << 20;     // larger stdout is not parsed

struct Termination {
  enum class Kind {
    Exited,       // the command ended by itself (exit or signal)
    TimedOut,     // timeout_seconds passed; the group got SIGTERM (and SIGKILL if `escalated`)
    Cancelled,    // cancel requested; as for TimedOut
    ExecFailed,   // `err` = errno of execvp
    ChdirFailed,  // `err` = errno of chdir
  };
  Kind kind = Kind::Exited;
  int wait_status = 0;  // waitpid(2) status of the command, unless it never ran
  int err = 0;
  bool escalated = false;
  double duration_seconds = 0;
};

// The outcome recorded in result.json. Output (Succeeded details, and the
// details of a Failed run) is {"exit_code", "stdout", "stderr", "json"
// (when stdout is one JSON document), "duration_seconds", "signal" (when
// killed by one)}; stdout/stderr are the last kOutputTailBytes bytes, the
// whole streams stay in state_dir.
ActionState make_outcome(const std::filesystem::path& state_dir, const CommandSpec& spec,
                         const Termination& t);

// The outcome of an action run as a child process (spec.child set): what it
// recorded in state_dir/child/result.json, else a failure with spec.child's
// error id and name ("... exited with 1 and no outcome: LAST STDERR LINE
// (stderr=FILE)"); a cancelled or timed-out child is Action.Cancelled or
// Command.Timeout as for a command.
ActionState make_child_outcome(const std::filesystem::path& state_dir, const CommandSpec& spec,
                               const Termination& t);

// The last `max_bytes` bytes of `file` ("" when absent), starting on a UTF-8
// character boundary.
std::string read_tail(const std::filesystem::path& file, std::size_t max_bytes);

}  // namespace beamflow::actions::command
