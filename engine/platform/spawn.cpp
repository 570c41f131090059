#include "platform/spawn.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "platform/posix_file.hpp"

namespace beamflow::fs {
namespace {

using detail::UniqueFd;

// The channel a failure between fork and exec comes back on: numbered above
// the passed descriptor so the dup2s cannot clobber it.
[[noreturn]] void fail(const std::string& what, int err) {
  throw std::system_error(err, std::system_category(), what);
}

// A close-on-exec duplicate of `fd` numbered >= 10, so the dup2 onto 0..N in
// the child cannot clobber a descriptor it still needs.
UniqueFd high_dup(int fd, const char* what) {
  UniqueFd out(::fcntl(fd, F_DUPFD_CLOEXEC, 10));
  if (!out) fail(std::string("cannot duplicate ") + what, errno);
  return out;
}

// Between fork and exec only async-signal-safe calls: the caller may be
// multi-threaded, and another thread may hold the malloc lock.
[[noreturn]] void exec_detached(char* const argv[], char* const envp[], int devnull, int pass_fd, int pass_as,
                                int report_fd, int report_as, int max_fd) {
  int reporter = report_fd;  // where an errno goes: moves to report_as once it is there
  int err = 0;
  if (::setsid() < 0) err = errno;
  if (!err) {
    const pid_t pid = ::_Fork();
    if (pid < 0) err = errno;
    if (pid > 0) ::_exit(0);
  }
  if (!err) {
    for (int target = 0; target <= 2; ++target) ::dup2(devnull, target);
    if (::dup2(report_fd, report_as) < 0 || ::fcntl(report_as, F_SETFD, FD_CLOEXEC) < 0) {
      err = errno;
    } else {
      reporter = report_as;
      if (pass_fd >= 0 && ::dup2(pass_fd, pass_as) < 0) err = errno;
    }
  }
  if (!err) {
    if (::close_range(report_as + 1, ~0U, 0) != 0) {
      for (int fd = report_as + 1; fd < max_fd; ++fd) ::close(fd);
    }
    ::execve(argv[0], argv, envp);
    err = errno;
  }
  [[maybe_unused]] const ssize_t n = ::write(reporter, &err, sizeof err);
  ::_exit(127);
}

}  // namespace

void spawn_detached(const DetachedProcess& p) {
  if (p.argv.empty()) fail("nothing to run", EINVAL);
  // argv and the environment are built before fork: allocation is not allowed after.
  std::vector<std::string> argv_strings = p.argv, env_strings = p.env;
  std::vector<char*> argv, envp;
  for (auto& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  const int pass_as = p.pass_fd >= 0 ? p.pass_as : 2;
  const int report_as = pass_as + 1;

  UniqueFd devnull_raw(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!devnull_raw) fail("cannot open /dev/null", errno);
  const UniqueFd devnull = high_dup(devnull_raw.get(), "/dev/null");
  UniqueFd pass;
  if (p.pass_fd >= 0) pass = high_dup(p.pass_fd, "the descriptor to pass");
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) fail("cannot create a pipe", errno);
  UniqueFd report_read(report[0]);
  UniqueFd report_write_raw(report[1]);
  UniqueFd report_write = high_dup(report_write_raw.get(), "a pipe");
  report_write_raw.close();
  rlimit nofile{};
  const int max_fd = ::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < 65536
                         ? static_cast<int>(nofile.rlim_cur)
                         : 65536;

  const pid_t child = ::_Fork();
  if (child < 0) fail("cannot fork", errno);
  if (child == 0)
    exec_detached(argv.data(), envp.data(), devnull.get(), pass ? pass.get() : -1, pass_as, report_write.get(),
                  report_as, max_fd);

  report_write.close();
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  // EOF: the process exec'd (close-on-exec closed its end). A number: the
  // errno of the step that failed.
  int err = 0;
  ssize_t n;
  while ((n = ::read(report_read.get(), &err, sizeof err)) < 0 && errno == EINTR) {
  }
  if (n > 0) fail("cannot start " + p.argv[0], err);
}

CapturedRun run_captured(const std::vector<std::string>& argv) {
  if (argv.empty()) fail("nothing to run", EINVAL);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) fail("cannot create a pipe", errno);
  UniqueFd read_end(fds[0]), write_end(fds[1]);

  posix_spawn_file_actions_t actions;
  if (const int rc = ::posix_spawn_file_actions_init(&actions); rc != 0) fail("cannot prepare " + argv[0], rc);
  // dup2 clears close-on-exec on the copy: only stdout reaches the child.
  int rc = ::posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDOUT_FILENO);
  std::vector<std::string> strings = argv;
  std::vector<char*> args;
  for (auto& a : strings) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = -1;
  if (rc == 0) rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  ::posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) fail("cannot run " + argv[0], rc);
  write_end.close();

  CapturedRun run;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(read_end.get(), buf, sizeof buf);
    if (n > 0) run.output.append(buf, static_cast<std::size_t>(n));
    else if (n == 0 || errno != EINTR) break;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) fail("cannot wait for " + argv[0], errno);
  }
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return run;
}

}  // namespace beamflow::fs
