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
// The engine may run on another node than the supervisor (a pilot restarted
// elsewhere re-attaches by the shared state_dir): `started` records the
// supervisor's pid with its home (host, boot id, pid namespace:
// platform/machine.hpp), and the pid is signalled, or looked at, only from
// that home; from anywhere else the lock and the cancel file are the whole
// protocol. On its home, a supervisor still running although its lock is
// free (a lock that did not hold) keeps the action Active, never Lost.
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
// Asks the supervisor to stop the process (cancel file; SIGTERM too when it
// runs on this machine: otherwise it sees the file within its 200 ms poll,
// plus however long the shared file system takes to show the file) and returns
// at once: the recorded outcome when there is one already (or the supervisor
// is gone, and the cancel is recorded here), else Active with
// details.cancel_requested; the supervisor records the outcome when the
// process has stopped. What the driver calls: a cancel never holds its loop.
ActionState request_cancel(const ActionRequest& r);
// request_cancel(), then waits up to kill_grace + 2 s for the outcome (for a
// direct caller of Action::cancel that wants a final state; never the driver).
ActionState cancel(const ActionRequest& r, std::chrono::milliseconds kill_grace);

// Implemented by an in-process action whose cancel() waits for a supervised
// process (`command`): the driver calls request_cancel() instead, which only
// asks (see above) and returns.
class CancelsSupervised {
 public:
  virtual ~CancelsSupervised() = default;
  virtual ActionState request_cancel(const ActionRequest& r) = 0;
};
// drive() until the outcome is recorded: for callers that want a final
// state from run() (never the driver, which polls).
ActionState wait(const ActionRequest& r, const std::filesystem::path& supervisor_exe,
                 const std::function<command::CommandSpec()>& make_spec);

}  // namespace beamflow::actions::supervised
