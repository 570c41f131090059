#pragma once
// Starting a process that outlives its parent: the generic part of the
// supervisor launch (engine/actions/launch.hpp adds the supervisor protocol).
#include <string>
#include <vector>

namespace beamflow::fs {

struct DetachedProcess {
  std::vector<std::string> argv;     // argv[0] is a path (no PATH lookup)
  std::vector<std::string> env;      // the whole environment, "KEY=VALUE"
  int pass_fd = -1;                  // handed to the process as `pass_as` (e.g. a held lock)
  int pass_as = 3;
};

// Runs `p` detached from the caller: its own session (no terminal signal
// reaches it), stdio on /dev/null, every descriptor closed except `pass_fd`,
// which it receives as `pass_as`. Double fork: the intermediate child exits at
// once and is reaped here, so the process is re-parented to init (or the
// nearest subreaper) and never becomes a zombie of the caller. Returns once
// the process has exec'd. Throws std::system_error (naming the failed step)
// when it could not be started.
void spawn_detached(const DetachedProcess& p);

struct CapturedRun {
  int status = 0;      // the exit code, or 128 + the signal that ended it
  std::string output;  // everything it wrote on stdout
};

// Runs `argv` (argv[0] looked up in PATH) to its end with the caller's
// environment and stderr, and returns its stdout: how beamflow asks a site
// tool (sbatch) for an answer. posix_spawn, so it is safe in a process that
// already runs threads. Throws std::system_error when it cannot be started
// (e.g. ENOENT: the tool is not installed).
CapturedRun run_captured(const std::vector<std::string>& argv);

}  // namespace beamflow::fs
