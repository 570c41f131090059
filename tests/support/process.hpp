#pragma once
// The one way tests start a process: an executable (run to completion, or
// started in the background to be killed), or a forked copy of the test
// running a function (an "engine" that dies mid-call). Output is captured in
// unlinked temporary files, so a child that writes a lot never blocks on a
// full pipe and a background child needs no reader.
//
//   auto r = run_process({"beamflow", "run", "f.json"}, {.cwd = dir, .timeout = 60s});
//   r.exit_code, r.signal, r.out, r.err, r.timed_out
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

namespace beamflow::test {

struct ProcessOptions {
  // Every member has an initializer, so designated initializers may name
  // any few of them (-Wmissing-field-initializers).
  std::filesystem::path cwd{};                                // empty: the test's
  std::vector<std::pair<std::string, std::string>> env{};     // set (or replaced) in the child
  std::vector<std::string> unset_env{};                       // removed from the child's environment
  std::optional<std::string> stdin_text{};                    // default: /dev/null
  std::chrono::milliseconds timeout{0};                       // 0: none; then SIGKILL
  bool merge_stderr = false;                                  // stderr into out (2>&1)
  std::optional<std::filesystem::path> stdout_file{}, stderr_file{};  // keep the output in these files
  std::vector<int> close_fds{};                               // closed in the child (e.g. 3)
};

struct ProcessResult {
  int exit_code = -1;  // the exit status, or 128 + the signal that killed it
  int signal = 0;      // that signal (0: it exited)
  bool timed_out = false;
  std::string out;
  std::string err;
};

namespace detail {

inline std::string read_all(int fd) {
  std::string text;
  if (fd < 0) return text;
  ::lseek(fd, 0, SEEK_SET);
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      text.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  return text;
}

// An unlinked temporary file, or the named one (truncated).
inline int capture_fd(const std::optional<std::filesystem::path>& file) {
  if (file) return ::open(file->c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  std::FILE* f = std::tmpfile();
  if (!f) return -1;
  const int fd = ::fcntl(::fileno(f), F_DUPFD_CLOEXEC, 0);
  std::fclose(f);
  return fd;
}

inline void decode(int status, ProcessResult& r) {
  if (WIFEXITED(status)) {
    r.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r.signal = WTERMSIG(status);
    r.exit_code = 128 + r.signal;
  }
}

}  // namespace detail

// Waits for a child; its exit code, or 128 + signal when it was killed (-1
// when it cannot be waited for).
inline int wait_for_child(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  ProcessResult r;
  detail::decode(status, r);
  return r.exit_code;
}

// A started process whose output is being captured.
class Process {
 public:
  // Starts `argv` (argv[0] found on PATH when it has no '/').
  static Process start(const std::vector<std::string>& argv, const ProcessOptions& options = {}) {
    return Process(options, [&] {
      std::vector<std::string> env_strings;
      for (char** e = environ; *e; ++e) {
        const std::string entry = *e;
        const std::string name = entry.substr(0, entry.find('='));
        bool drop = false;
        for (const auto& u : options.unset_env) drop = drop || u == name;
        for (const auto& [k, v] : options.env) drop = drop || k == name;
        if (!drop) env_strings.push_back(entry);
      }
      for (const auto& [k, v] : options.env) env_strings.push_back(k + "=" + v);
      return std::make_pair(argv, env_strings);
    }());
  }

  // Forks this test process to run `body` (no exec); the child exits with
  // body's return value (98 when it throws).
  static Process fork(const std::function<int()>& body, const ProcessOptions& options = {}) {
    return Process(options, body);
  }

  Process(Process&& other) noexcept { *this = std::move(other); }
  Process& operator=(Process&& other) noexcept {
    std::swap(m_pid, other.m_pid);
    std::swap(m_out, other.m_out);
    std::swap(m_err, other.m_err);
    m_timeout = other.m_timeout;
    return *this;
  }
  ~Process() {
    if (m_pid > 0) {
      ::kill(m_pid, SIGKILL);
      wait_for_child(m_pid);
    }
    if (m_out >= 0) ::close(m_out);
    if (m_err >= 0) ::close(m_err);
  }

  pid_t pid() const noexcept { return m_pid; }
  // Lets the process run on unowned (its output going to stdout_file /
  // stderr_file); returns its pid, to be reaped with wait_for_child().
  pid_t detach() noexcept { return std::exchange(m_pid, -1); }
  void kill(int signal = SIGKILL) const { ::kill(m_pid, signal); }

  // Waits for the end (killing the process once the timeout passed) and
  // returns what it printed.
  ProcessResult wait() {
    ProcessResult r;
    int status = 0;
    if (m_timeout.count() > 0) {
      const auto give_up = std::chrono::steady_clock::now() + m_timeout;
      for (;;) {
        const pid_t done = ::waitpid(m_pid, &status, WNOHANG);
        if (done == m_pid || (done < 0 && errno != EINTR)) break;
        if (std::chrono::steady_clock::now() > give_up) {
          r.timed_out = true;
          ::kill(m_pid, SIGKILL);
          while (::waitpid(m_pid, &status, 0) < 0 && errno == EINTR) {
          }
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    } else {
      while (::waitpid(m_pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
    m_pid = -1;
    detail::decode(status, r);
    r.out = detail::read_all(m_out);
    r.err = detail::read_all(m_err);
    return r;
  }

 private:
  using Exec = std::pair<std::vector<std::string>, std::vector<std::string>>;  // argv, environment

  template <class What>
  Process(const ProcessOptions& options, What what) : m_timeout(options.timeout) {
    m_out = detail::capture_fd(options.stdout_file);
    m_err = options.merge_stderr ? -1 : detail::capture_fd(options.stderr_file);
    int in = -1;
    if (options.stdin_text) {
      in = detail::capture_fd(std::nullopt);
      if (in >= 0 && ::write(in, options.stdin_text->data(), options.stdin_text->size()) < 0) {
      }
      if (in >= 0) ::lseek(in, 0, SEEK_SET);
    } else {
      in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    // Everything the child needs is built before fork (only async-signal-safe
    // calls between fork and exec).
    std::vector<char*> argv, envp;
    if constexpr (std::is_same_v<What, Exec>) {
      for (auto& a : what.first) argv.push_back(a.data());
      argv.push_back(nullptr);
      for (auto& e : what.second) envp.push_back(e.data());
      envp.push_back(nullptr);
    }
    std::fflush(nullptr);
    m_pid = ::fork();
    if (m_pid < 0) throw std::runtime_error("fork failed");
    if (m_pid == 0) {
      if (::dup2(in, 0) < 0 || ::dup2(m_out, 1) < 0 || ::dup2(options.merge_stderr ? m_out : m_err, 2) < 0)
        ::_exit(126);
      for (const int fd : options.close_fds) ::close(fd);
      if (!options.cwd.empty() && ::chdir(options.cwd.c_str()) != 0) ::_exit(126);
      if constexpr (std::is_same_v<What, Exec>) {
        ::execvpe(argv[0], argv.data(), envp.data());
        ::_exit(127);
      } else {
        for (const auto& [k, v] : options.env) ::setenv(k.c_str(), v.c_str(), 1);
        for (const auto& u : options.unset_env) ::unsetenv(u.c_str());
        int code = 98;
        try {
          code = what();
        } catch (...) {
        }
        std::fflush(nullptr);
        ::_exit(code);
      }
    }
    if (in >= 0) ::close(in);
  }

  pid_t m_pid = -1;
  int m_out = -1;
  int m_err = -1;
  std::chrono::milliseconds m_timeout{0};
};

// Runs `argv` to completion.
inline ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options = {}) {
  return Process::start(argv, options).wait();
}

// `/bin/sh -c LINE` to completion (for pipelines and redirections).
inline ProcessResult run_shell(const std::string& line, const ProcessOptions& options = {}) {
  return run_process({"/bin/sh", "-c", line}, options);
}

// Runs `body` in a forked child; its exit code (98 when it throws), or 128 +
// signal when the child was killed.
inline int run_in_child(const std::function<int()>& body) { return Process::fork(body).wait().exit_code; }

}  // namespace beamflow::test
