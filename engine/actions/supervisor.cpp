#include "actions/supervisor.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <thread>

#include "actions/command_outcome.hpp"
#include "actions/command_spec.hpp"
#include "actions/durable.hpp"
#include "actions/launch.hpp"
#include "core/error.hpp"
#include "platform/machine.hpp"
#include "platform/posix_file.hpp"
#include "platform/storage_failure.hpp"

namespace beamflow::actions {
namespace {

namespace stdfs = std::filesystem;
using namespace command;
using fs::detail::UniqueFd;
using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How often the cancel file is looked for while the command runs.
constexpr milliseconds kCancelPoll{200};

[[noreturn]] void fail(const std::string& what, const stdfs::path& file, int err) {
  fs::detail::throw_system_error("command.supervisor", what, file, err);
}

UniqueFd open_or_fail(const stdfs::path& file, int flags) {
  // Owner-only whatever the umask (stdout, stderr: they may echo secrets).
  UniqueFd fd(::open(file.c_str(), flags | O_CLOEXEC, 0600));
  if (!fd) fail("cannot open", file, errno);
  return fd;
}

// fd 3 when it is state_dir/lock (the launch protocol); otherwise the lock
// taken here. -1 when another process holds it.
int adopt_lock(const stdfs::path& dir) {
  const stdfs::path file = dir / files::kLock;
  struct stat inherited {}, on_disk {};
  if (::fstat(kSupervisorLockFd, &inherited) == 0 && ::stat(file.c_str(), &on_disk) == 0 &&
      inherited.st_dev == on_disk.st_dev && inherited.st_ino == on_disk.st_ino &&
      ::flock(kSupervisorLockFd, LOCK_EX | LOCK_NB) == 0) {
    // Our own lock: re-locking it succeeds. The command must not inherit it
    // (a surviving grandchild would otherwise pose as a live supervisor).
    ::fcntl(kSupervisorLockFd, F_SETFD, FD_CLOEXEC);
    return kSupervisorLockFd;
  }
  auto lock = fs::FileLock::try_acquire(file);
  return lock ? lock->release() : -1;
}

// Everything the supervisor prints goes to state_dir/supervisor.log.
void redirect_diagnostics(const stdfs::path& dir) {
  UniqueFd log(::open((dir / files::kLog).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!log) return;  // keep /dev/null (or the caller's terminal)
  ::dup2(log.get(), STDOUT_FILENO);
  ::dup2(log.get(), STDERR_FILENO);
}

bool present(const stdfs::path& p) {
  std::error_code ec;
  return stdfs::exists(p, ec);
}

// Signals the supervisor takes synchronously (sigtimedwait): the command's
// exit, and the requests to stop (SIGTERM from cancel(), SIGINT/SIGHUP from
// a person).
sigset_t watched_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, sig);
  return set;
}

struct ExecReport {
  int stage;  // 1 chdir, 2 exec
  int err;
};

class Supervisor {
 public:
  Supervisor(stdfs::path dir, CommandSpec spec) : m_dir(std::move(dir)), m_spec(std::move(spec)) {}

  // Sets `started` once the started marker is durable.
  ActionState run(bool& started) {
    // Dispositions the engine may have set are inherited through exec: an
    // ignored SIGCHLD would auto-reap the command, an ignored SIGPIPE would
    // reach the command. Start from the defaults, then take the watched
    // signals synchronously (sigtimedwait) instead of in handlers.
    for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT}) ::signal(sig, SIG_DFL);
    const sigset_t watched = watched_signals();
    ::sigprocmask(SIG_SETMASK, &watched, nullptr);
    // Orphaned descendants of the command become our children, so we can
    // reap them and see when its process group is really empty.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);

    if (present(m_dir / files::kCancel)) {
      return ActionState::failed("", "Action.Cancelled", "cancelled before the command started");
    }
    UniqueFd in = stdin_fd();
    UniqueFd out = open_or_fail(m_dir / files::kStdout, O_WRONLY | O_CREAT | O_TRUNC);
    UniqueFd err = open_or_fail(m_dir / files::kStderr, O_WRONLY | O_CREAT | O_TRUNC);
    for (const std::string& key : m_spec.unset_env) ::unsetenv(key.c_str());
    for (const auto& [key, value] : m_spec.env) ::setenv(key.c_str(), value.c_str(), 1);

    // Who we are, beside our pid: an engine on another node (a pilot
    // restarted elsewhere) must never signal that pid (supervised.hpp).
    const platform::ProcessHome& home = platform::this_home();
    durable::write_json(m_dir / files::kStarted,
                        {{"supervisor_pid", ::getpid()},
                         {"host", home.host},
                         {"boot_id", home.boot_id},
                         {"pid_ns", home.pid_ns},
                         {"started_at", durable::rfc3339(Clock::now())}});
    started = true;

    const Steady::time_point t0 = Steady::now();
    Termination t = spawn_and_wait(in.get(), out.get(), err.get());
    t.duration_seconds = std::chrono::duration<double>(Steady::now() - t0).count();
    return m_spec.child ? make_child_outcome(m_dir, m_spec, t) : make_outcome(m_dir, m_spec, t);
  }

 private:
  UniqueFd stdin_fd() const {
    if (!m_spec.stdin_data) return open_or_fail("/dev/null", O_RDONLY);
    const stdfs::path file = m_dir / files::kStdin;
    fs::write_file_atomic(file, *m_spec.stdin_data);
    return open_or_fail(file, O_RDONLY);
  }

  Termination spawn_and_wait(int in, int out, int err) {
    std::vector<char*> argv;
    for (auto& a : m_spec.argv) argv.push_back(a.data());
    argv.push_back(nullptr);
    int report[2];
    if (::pipe2(report, O_CLOEXEC) != 0) fail("cannot create a pipe", m_dir, errno);
    UniqueFd report_read(report[0]), report_write(report[1]);
    const pid_t self = ::getpid();

    const pid_t pid = ::fork();
    if (pid < 0) fail("cannot fork", m_dir, errno);
    if (pid == 0) {
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::setpgid(0, 0);
      // The command dies with its supervisor, so a "Command.Lost" outcome
      // never races a command still running.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != self) ::_exit(127);
      ::dup2(in, STDIN_FILENO);
      ::dup2(out, STDOUT_FILENO);
      ::dup2(err, STDERR_FILENO);
      ExecReport r{1, 0};
      if (::chdir(m_spec.cwd.c_str()) == 0) {
        ::execvp(argv[0], argv.data());
        r.stage = 2;
      }
      r.err = errno;
      [[maybe_unused]] const ssize_t n = ::write(report_write.get(), &r, sizeof r);
      ::_exit(127);
    }
    ::setpgid(pid, pid);  // also here: we may signal the group before the child runs
    report_write.close();
    ExecReport r{0, 0};
    ssize_t n;
    while ((n = ::read(report_read.get(), &r, sizeof r)) < 0 && errno == EINTR) {
    }
    if (n == static_cast<ssize_t>(sizeof r)) {
      int status;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      return {.kind = r.stage == 1 ? Termination::Kind::ChdirFailed : Termination::Kind::ExecFailed,
              .err = r.err};
    }
    return wait_for(pid);
  }

  // Reaps every exited child; the leader's status goes to `leader`.
  static void reap(pid_t leader, std::optional<int>& leader_status) {
    int status;
    pid_t p;
    while ((p = ::waitpid(-1, &status, WNOHANG)) > 0) {
      if (p == leader) leader_status = status;
    }
  }

  static void wait_signal(milliseconds timeout, bool& cancel) {
    const sigset_t watched = watched_signals();
    const auto ms = std::max<long long>(timeout.count(), 1);
    timespec ts{static_cast<time_t>(ms / 1000), static_cast<long>(ms % 1000) * 1000000L};
    const int sig = ::sigtimedwait(&watched, nullptr, &ts);
    if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) cancel = true;
  }

  Termination wait_for(pid_t pid) {
    using Kind = Termination::Kind;
    std::optional<Steady::time_point> deadline;
    if (m_spec.timeout_seconds) {
      deadline = Steady::now() + std::chrono::duration_cast<Steady::duration>(
                                     std::chrono::duration<double>(*m_spec.timeout_seconds));
    }
    std::optional<Kind> stop;
    Steady::time_point kill_at{};
    bool killed = false;
    bool cancel = false;
    std::optional<int> leader;
    auto until = [](Steady::time_point t) {
      return std::chrono::duration_cast<milliseconds>(t - Steady::now());
    };
    for (;;) {
      reap(pid, leader);
      if (leader) break;
      const auto now = Steady::now();
      if (!stop) {
        if (cancel || present(m_dir / files::kCancel)) stop = Kind::Cancelled;
        else if (deadline && now >= *deadline) stop = Kind::TimedOut;
        if (stop) {
          ::kill(-pid, SIGTERM);
          kill_at = now + m_spec.kill_grace;
        }
      } else if (!killed && now >= kill_at) {
        ::kill(-pid, SIGKILL);
        killed = true;
      }
      milliseconds wait = kCancelPoll;
      if (!stop && deadline) wait = std::min(wait, until(*deadline));
      if (stop && !killed) wait = std::min(wait, until(kill_at));
      wait_signal(wait, cancel);
    }
    if (stop) {
      // The leader is gone; give the rest of its group the same grace.
      for (;;) {
        reap(pid, leader);
        if (::kill(-pid, 0) != 0) break;
        if (!killed && Steady::now() >= kill_at) {
          ::kill(-pid, SIGKILL);
          killed = true;
        }
        wait_signal(killed ? milliseconds(50) : std::min(milliseconds(50), until(kill_at)), cancel);
        if (killed && Steady::now() >= kill_at + std::chrono::seconds(2)) break;  // unkillable (D state)
      }
    }
    return {.kind = stop.value_or(Kind::Exited), .wait_status = *leader, .escalated = killed};
  }

  stdfs::path m_dir;
  CommandSpec m_spec;
};

}  // namespace

int supervise_main(const std::vector<std::string>& args) {
  if (args.size() != 1 || args[0].empty()) {
    std::cerr << "usage: beamflow " << kSuperviseCommand << " STATE_DIR\n";
    return 2;
  }
  // The marker must not reach the command (it may run beamflow itself).
  ::unsetenv(kSupervisorMarker);
  const stdfs::path dir = args[0];
  redirect_diagnostics(dir);
  const auto log = [&](const std::string& line) {
    std::cerr << durable::rfc3339(Clock::now()) << " supervisor " << ::getpid() << ": " << line
              << std::endl;
  };
  if (adopt_lock(dir) < 0) {
    log("another process holds " + (dir / files::kLock).string() + "; nothing to do");
    return 0;
  }
  bool started = false;
  try {
    if (present(dir / durable::kResultFile)) return 0;
    if (present(dir / files::kStarted)) {
      // A previous supervisor started the command and died: re-running it is
      // exactly what must not happen. The engine records Command.Lost.
      log("the command was started by a supervisor that died; not running it again");
      return 0;
    }
    const auto spec_json = durable::read_json(dir / files::kSpec);
    if (!spec_json) fail("no command spec", dir / files::kSpec, ENOENT);
    Supervisor supervisor(dir, CommandSpec::from_json(*spec_json));
    const ActionState outcome = supervisor.run(started);
    // The command ran: its outcome must not be lost to a full disk. Keep the
    // lock (the engine sees the action still active) and try again until
    // the space is back; only then is the command's outcome known for good.
    for (int wait_ms = 100;; wait_ms = std::min(wait_ms * 2, 5000)) {
      try {
        durable::save_result(dir, outcome);
        return 0;
      } catch (const std::exception& e) {
        if (!fs::is_storage_failure(e)) throw;
        log(std::string("cannot record the outcome yet, retrying in ") + std::to_string(wait_ms) + " ms: " + e.what());
        std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
      }
    }
  } catch (const std::exception& e) {
    log(e.what());
    if (!started && fs::is_storage_failure(e)) {
      // Nothing ran and beamflow's own storage failed: not a launch failure
      // of the command. Record nothing, so the next look launches it again.
      return 1;
    }
    try {
      durable::save_result(dir, ActionState::failed("", started ? "Command.Lost" : "Command.LaunchFailed",
                                                    std::string("supervisor: ") + e.what()));
    } catch (const std::exception& again) {
      log(std::string("cannot record the failure: ") + again.what());
    }
    return 1;
  }
}

}  // namespace beamflow::actions
