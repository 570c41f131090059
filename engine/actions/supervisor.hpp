#pragma once
// The `command` action's supervisor: the process that actually runs a
// command, detached from the engine so that the engine can die at any
// instant without losing the command or running it twice.
//
// Protocol (files in the action's state_dir, see command_spec.hpp):
//   lock         flock held for the supervisor's whole life (fd 3, inherited
//                from the engine that launched it): "held" means "alive".
//   spec.json    what to run, written by the engine before launch.
//   started      written durably just before the command is forked: from
//                then on the command may have run, so it is never re-run.
//   stdout, stderr  the command's streams; their mtime is the heartbeat.
//   cancel       a cancel request (SIGTERM to the supervisor does the same).
//   result.json  the outcome, written atomically, last thing before exit.
#include <string>
#include <vector>

namespace beamflow::actions {

// The hidden subcommand name: `beamflow __supervise STATE_DIR`.
inline constexpr const char* kSuperviseCommand = "__supervise";
// Environment variable set for a supervisor process and removed by
// supervise_main before it runs anything: a process that still carries it
// was started as a supervisor but did not handle `__supervise`.
inline constexpr const char* kSupervisorMarker = "BEAMFLOW_SUPERVISOR_OF";

// Entry point of `__supervise`; `args` are the arguments after the name
// (one: STATE_DIR). Expects the action's lock on fd 3 (when fd 3 is not that
// lock, e.g. when run by hand, it takes the lock itself or exits if another
// process holds it). Runs the command in its own process group with the
// spec's stdin, cwd, env and timeout, then writes result.json. Returns the
// process exit code: 0 when an outcome was recorded (whatever it is), 1 when
// the supervisor itself failed (it then records Command.LaunchFailed or, if
// the command had started, Command.Lost), 2 on bad usage. Its own
// diagnostics go to state_dir/supervisor.log.
int supervise_main(const std::vector<std::string>& args);

}  // namespace beamflow::actions
