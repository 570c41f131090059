#include "actions/launch.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "actions/supervisor.hpp"
#include "core/error.hpp"
#include "platform/posix_file.hpp"

namespace beamflow::actions::command {
namespace {

using fs::detail::UniqueFd;

// The channel a failure between fork and exec comes back on.
inline constexpr int kReportFd = 4;

[[noreturn]] void launch_error(const std::string& what, const std::filesystem::path& exe, int err) {
  throw Error("command.launch_failed", "Command.LaunchFailed",
              what + (err ? ": " + std::system_category().message(err) : std::string()),
              {{"supervisor", exe.string()}});
}

// A close-on-exec duplicate of `fd` numbered >= 10, so the dup2 onto 0..4 in
// the child cannot clobber a descriptor it still needs.
UniqueFd high_dup(int fd, const char* what, const std::filesystem::path& exe) {
  UniqueFd out(::fcntl(fd, F_DUPFD_CLOEXEC, 10));
  if (!out) launch_error(std::string("cannot duplicate ") + what, exe, errno);
  return out;
}

// Between fork and exec only async-signal-safe calls: the engine may be
// multi-threaded, and another thread may hold the malloc lock.
[[noreturn]] void exec_supervisor(char* const argv[], char* const envp[], int devnull, int lock_fd,
                                  int report_fd, int max_fd) {
  int reporter = report_fd;  // where an errno goes: moves to kReportFd once it is there
  int err = 0;
  if (::setsid() < 0) err = errno;
  if (!err) {
    const pid_t pid = ::_Fork();
    if (pid < 0) err = errno;
    if (pid > 0) ::_exit(0);
  }
  if (!err) {
    for (int target = 0; target <= 2; ++target) ::dup2(devnull, target);
    if (::dup2(report_fd, kReportFd) < 0 || ::fcntl(kReportFd, F_SETFD, FD_CLOEXEC) < 0) {
      err = errno;
    } else {
      reporter = kReportFd;
      if (::dup2(lock_fd, kSupervisorLockFd) < 0) err = errno;
    }
  }
  if (!err) {
    if (::close_range(kReportFd + 1, ~0U, 0) != 0) {
      for (int fd = kReportFd + 1; fd < max_fd; ++fd) ::close(fd);
    }
    ::execve(argv[0], argv, envp);
    err = errno;
  }
  [[maybe_unused]] const ssize_t n = ::write(reporter, &err, sizeof err);
  ::_exit(127);
}

}  // namespace

void spawn_supervisor(const std::filesystem::path& supervisor_exe,
                      const std::filesystem::path& state_dir, fs::FileLock lock) {
  // A supervisor removes the marker before it runs anything. Seeing it here
  // means the executable we started as a supervisor ignored `__supervise`
  // and went on to launch commands itself (a test binary without the
  // dispatching main, say): refuse, or each launch would recurse.
  if (std::getenv(kSupervisorMarker)) {
    launch_error(std::string("this process was started as a supervisor but did not handle ") +
                     "__supervise; refusing to launch a command from it", supervisor_exe, 0);
  }
  std::string exe = supervisor_exe.string();
  std::string verb = "__supervise";
  std::string dir = state_dir.string();
  char* const argv[] = {exe.data(), verb.data(), dir.data(), nullptr};
  // The environment is built before fork: allocation is not allowed after.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, kSupervisorMarker, std::strlen(kSupervisorMarker)) != 0) env_strings.emplace_back(*e);
  env_strings.push_back(std::string(kSupervisorMarker) + "=" + dir);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  UniqueFd devnull_raw(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!devnull_raw) launch_error("cannot open /dev/null", supervisor_exe, errno);
  const UniqueFd devnull = high_dup(devnull_raw.get(), "/dev/null", supervisor_exe);
  const UniqueFd lock_fd = high_dup(lock.fd(), "the lock", supervisor_exe);
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) launch_error("cannot create a pipe", supervisor_exe, errno);
  UniqueFd report_read(report[0]);
  UniqueFd report_write_raw(report[1]);
  UniqueFd report_write = high_dup(report_write_raw.get(), "a pipe", supervisor_exe);
  report_write_raw.close();
  rlimit nofile{};
  const int max_fd = ::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < 65536
                         ? static_cast<int>(nofile.rlim_cur)
                         : 65536;

  const pid_t child = ::_Fork();
  if (child < 0) launch_error("cannot fork", supervisor_exe, errno);
  if (child == 0) exec_supervisor(argv, envp.data(), devnull.get(), lock_fd.get(), report_write.get(), max_fd);

  report_write.close();
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  // EOF: the supervisor exec'd (close-on-exec closed its end). A number: the
  // errno of the step that failed.
  int err = 0;
  ssize_t n;
  while ((n = ::read(report_read.get(), &err, sizeof err)) < 0 && errno == EINTR) {
  }
  if (n > 0) launch_error("cannot start the supervisor", supervisor_exe, err);
  // The supervisor's fd 3 now holds the lock; dropping ours does not unlock
  // it (flock belongs to the open file description, shared with the child).
}

}  // namespace beamflow::actions::command
