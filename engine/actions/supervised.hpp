#pragma once
// A process run under the detached supervisor (supervisor.hpp), seen from any
// engine process: the one client of the state-directory protocol, shared by
// `command` and by the actions that run as child processes (child.hpp).
// Every answer is decided from ActionRequest::state_dir alone, so the engine
// that launched the process and one started after a kill -9 agree:
//   result.json present              -> the recorded outcome
//   lock held by another process     -> the supervisor is alive: Active
//   lock free, `started` present     -> the supervisor died mid-process:
//                                       Failed "Command.Lost" (never re-run;
//                                       the flow's Retry decides)
//   lock free, not started           -> nothing ran yet: launch, Active
// The launch hands the held lock itself to the supervisor, so there is no
// instant at which a second engine could see the lock free and launch again.
#include <chrono>
#include <filesystem>
#include <functional>

#include "actions/action.hpp"
#include "actions/command_spec.hpp"

namespace beamflow::actions::supervised {

// Launches (once) or re-attaches; `make_spec` is called only to launch.
ActionState drive(const ActionRequest& r, const std::filesystem::path& supervisor_exe,
                  const std::function<command::CommandSpec()>& make_spec);
// Active, polled more slowly the longer the process has run (20 ms to
// 200 ms), with the streams' mtime as heartbeat.
ActionState running(const ActionRequest& r);
// Asks the supervisor to stop the process (cancel file, SIGTERM) and waits up
// to kill_grace + 2 s for its outcome.
ActionState cancel(const ActionRequest& r, std::chrono::milliseconds kill_grace);
// drive() until the outcome is recorded: for callers that want a final
// state from run() (never the driver, which polls).
ActionState wait(const ActionRequest& r, const std::filesystem::path& supervisor_exe,
                 const std::function<command::CommandSpec()>& make_spec);

}  // namespace beamflow::actions::supervised
