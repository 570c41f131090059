#pragma once
// Factories for the engine's built-in actions (register_builtin_actions
// registers all of them). Each action's input is documented by its
// ActionInfo::input_schema; the behaviour is summarised here.
#include <chrono>
#include <filesystem>
#include <memory>

#include "actions/action.hpp"

namespace beamflow::actions {

// echo: succeeds with its input, unchanged.
std::shared_ptr<Action> make_echo_action();
// fail: fails with error input.Error (default "Fail.Error") and cause
// input.Cause (default "fail action called").
std::shared_ptr<Action> make_fail_action();
// add: succeeds with input.a + input.b; an integer when both are integers
// (a double if the sum overflows 64 bits).
std::shared_ptr<Action> make_add_action();
// flaky: fails with input.error (default "Flaky.Error") on the first
// input.failures (default 1) attempts of its state within a run, then
// succeeds with {"attempts": n}. Counted durably under run_dir/flaky/.
std::shared_ptr<Action> make_flaky_action();
// abort: kills the process it runs in (SIGABRT), or with input.hang never
// returns: for testing crash handling (a pilot's Pilot.TaskCrashed).
std::shared_ptr<Action> make_abort_action();
// sleep: asynchronous; succeeds with {"slept": input.seconds} once that much
// time has passed since the first run() of the action_id.
std::shared_ptr<Action> make_sleep_action();
// approve: asynchronous human approval, decided with `beamflow approve` /
// `beamflow reject` (see approval.hpp).
std::shared_ptr<Action> make_approve_action();
// provenance: writes a JSON record of inputs and results (size, SHA-256),
// parameters, centre, approval, step timings, ranks, version, host and user
// to input.output (the one output rule); see provenance.cpp.
std::shared_ptr<Action> make_provenance_action();

struct CommandOptions {
  // An executable that understands `__supervise STATE_DIR` (supervisor.hpp):
  // the `beamflow` binary itself by default.
  std::filesystem::path supervisor_exe;
  // Between SIGTERM and SIGKILL to the command's process group on timeout or
  // cancel.
  std::chrono::milliseconds kill_grace{5000};
};
// The path of the running executable (/proc/self/exe, resolved).
std::filesystem::path current_executable();
// command: runs an external program under a detached supervisor process that
// survives the engine (see command.cpp for the crash-proof protocol).
std::shared_ptr<Action> make_command_action(CommandOptions options);

}  // namespace beamflow::actions
