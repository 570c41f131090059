#include "actions/launch.hpp"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>

#include "actions/supervisor.hpp"
#include "core/error.hpp"
#include "platform/spawn.hpp"

namespace beamflow::actions::command {

void spawn_supervisor(const std::filesystem::path& supervisor_exe,
                      const std::filesystem::path& state_dir, fs::FileLock lock) {
  // A supervisor removes the marker before it runs anything. Seeing it here
  // means the executable we started as a supervisor ignored `__supervise`
  // and went on to launch commands itself (a test binary without the
  // dispatching main, say): refuse, or each launch would recurse.
  if (std::getenv(kSupervisorMarker)) {
    throw Error("command.launch_failed", "Command.LaunchFailed",
                std::string("this process was started as a supervisor but did not handle ") +
                    "__supervise; refusing to launch a command from it",
                {{"supervisor", supervisor_exe.string()}});
  }
  fs::DetachedProcess p;
  p.argv = {supervisor_exe.string(), kSuperviseCommand, state_dir.string()};
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, kSupervisorMarker, std::strlen(kSupervisorMarker)) != 0) p.env.emplace_back(*e);
  std::string marker = kSupervisorMarker;
  marker.append("=").append(state_dir.string());
  p.env.push_back(std::move(marker));
  p.pass_fd = lock.fd();
  p.pass_as = kSupervisorLockFd;
  try {
    fs::spawn_detached(p);
  } catch (const std::system_error& e) {
    // e.what() is "cannot start EXE: why" or "cannot fork: why", ...
    std::string what = e.what();
    if (what.rfind("cannot start ", 0) == 0) what = "cannot start the supervisor: " + e.code().message();
    throw Error("command.launch_failed", "Command.LaunchFailed", what, {{"supervisor", supervisor_exe.string()}});
  }
  // The supervisor's fd 3 now holds the lock; dropping ours does not unlock
  // it (flock belongs to the open file description, shared with the child).
}

}  // namespace beamflow::actions::command
