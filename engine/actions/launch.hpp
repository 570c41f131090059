#pragma once
// Starting the `command` action's supervisor as a daemon that outlives the
// engine.
#include <filesystem>

#include "platform/fs.hpp"

namespace beamflow::actions::command {

// Runs `supervisor_exe __supervise STATE_DIR` detached from the caller: its
// own session (no terminal signal reaches it), stdio on /dev/null, every
// descriptor closed except the held `lock`, which it receives as fd 3 so the
// flock stays held, without a gap, from the caller's acquisition to the
// supervisor's exit.
//
// Double fork: the intermediate child exits at once and is reaped here, so
// the supervisor is re-parented to init (or the nearest subreaper) and never
// becomes a zombie of the engine, whichever engine process is alive when it
// ends. Returns once the supervisor has exec'd; throws Error
// "command.launch_failed" (the lock is then released, nothing ran) when it
// could not be started.
void spawn_supervisor(const std::filesystem::path& supervisor_exe,
                      const std::filesystem::path& state_dir, fs::FileLock lock);

// The file descriptor on which the supervisor finds the lock.
inline constexpr int kSupervisorLockFd = 3;

}  // namespace beamflow::actions::command
