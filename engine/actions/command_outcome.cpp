#include "actions/command_outcome.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "core/json_parse.hpp"
#include "actions/durable.hpp"
#include "core/error.hpp"
#include "platform/fs.hpp"
#include "platform/posix_file.hpp"

namespace beamflow::actions::command {
namespace {

std::string signal_name(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  const char* descr = ::sigdescr_np(sig);
  std::string name = abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
  if (descr) name += std::string(" (") + descr + ")";
  return name;
}

std::string short_signal_name(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : std::to_string(sig);
}

std::string with_stderr(std::string cause, const std::filesystem::path& state_dir) {
  std::string tail = read_tail(state_dir / files::kStderr, kCauseTailBytes);
  while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r')) tail.pop_back();
  if (!tail.empty()) cause += ": " + tail;
  return cause;
}

std::string seconds_text(double s) {
  std::ostringstream out;
  out << s;
  return out.str();
}

Json output(const std::filesystem::path& state_dir, const Termination& t) {
  Json out = {{"exit_code", WIFEXITED(t.wait_status) ? WEXITSTATUS(t.wait_status) : 0},
              {"stdout", read_tail(state_dir / files::kStdout, kOutputTailBytes)},
              {"stderr", read_tail(state_dir / files::kStderr, kOutputTailBytes)},
              {"duration_seconds", t.duration_seconds}};
  if (WIFSIGNALED(t.wait_status)) {
    out["exit_code"] = 128 + WTERMSIG(t.wait_status);  // as a shell reports it
    out["signal"] = short_signal_name(WTERMSIG(t.wait_status));
  }
  std::error_code ec;
  const auto size = std::filesystem::file_size(state_dir / files::kStdout, ec);
  if (!ec && size > 0 && size <= kJsonMaxBytes) {
    // Depth-limited while parsing: a too-deep stdout is "not JSON", never a crash.
    if (auto doc = try_parse_json(fs::read_file(state_dir / files::kStdout))) out["json"] = std::move(*doc);
  }
  return out;
}

}  // namespace

std::string read_tail(const std::filesystem::path& file, std::size_t max_bytes) {
  fs::detail::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return {};
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return {};
  const auto size = static_cast<std::size_t>(st.st_size);
  const std::size_t start = size > max_bytes ? size - max_bytes : 0;
  std::string out(size - start, '\0');
  std::size_t used = 0;
  while (used < out.size()) {
    const ssize_t n = ::pread(fd.get(), out.data() + used, out.size() - used,
                              static_cast<off_t>(start + used));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    used += static_cast<std::size_t>(n);
  }
  out.resize(used);
  if (start > 0) {
    // Cut into the middle of a character: skip its continuation bytes.
    std::size_t skip = 0;
    while (skip < 3 && skip < out.size() && (static_cast<unsigned char>(out[skip]) & 0xC0) == 0x80)
      ++skip;
    out.erase(0, skip);
  }
  return out;
}

ActionState make_outcome(const std::filesystem::path& state_dir, const CommandSpec& spec,
                         const Termination& t) {
  using Kind = Termination::Kind;
  const std::string& program = spec.argv.front();
  if (t.kind == Kind::ExecFailed) {
    const bool missing = t.err == ENOENT || t.err == EACCES || t.err == ENOTDIR || t.err == ELOOP ||
                         t.err == ENAMETOOLONG;
    const std::string why = program + ": " + std::strerror(t.err);
    return missing ? ActionState::failed("", "Command.NotFound",
                                         why + (program.find('/') == std::string::npos
                                                    ? " (looked up in PATH)"
                                                    : ""))
                   : ActionState::failed("", "Command.Failed", "cannot execute " + why);
  }
  if (t.kind == Kind::ChdirFailed) {
    return ActionState::failed("", "Command.Failed",
                               "cannot enter working directory " + spec.cwd.string() + ": " +
                                   std::strerror(t.err));
  }
  Json out = output(state_dir, t);
  ActionState state;
  const std::string stop = std::string("its process group got SIGTERM") +
                           (t.escalated ? ", then SIGKILL after " +
                                              seconds_text(spec.kill_grace.count() / 1000.0) + " s"
                                        : "");
  switch (t.kind) {
    case Kind::Exited:
      if (WIFSIGNALED(t.wait_status)) {
        state = ActionState::failed(
            "", "Command.Failed", with_stderr("killed by " + signal_name(WTERMSIG(t.wait_status)), state_dir));
      } else if (const int code = WEXITSTATUS(t.wait_status); code != 0) {
        state = ActionState::failed("", "Command.Failed",
                                    with_stderr("exit code " + std::to_string(code), state_dir));
      } else {
        return ActionState::succeeded("", std::move(out));
      }
      break;
    case Kind::TimedOut:
      state = ActionState::failed(
          "", "Command.Timeout",
          "timed out after " + seconds_text(spec.timeout_seconds.value_or(0)) +
              " s (timeout_seconds); " + stop);
      break;
    case Kind::Cancelled:
      state = ActionState::failed("", "Action.Cancelled", "cancelled while running; " + stop);
      break;
    default: break;
  }
  state.details = std::move(out);
  return state;
}

ActionState make_child_outcome(const std::filesystem::path& state_dir, const CommandSpec& spec,
                               const Termination& t) {
  using Kind = Termination::Kind;
  if (t.kind == Kind::Cancelled || t.kind == Kind::TimedOut) return make_outcome(state_dir, spec, t);
  try {
    if (auto recorded = durable::load_result(state_dir / files::kChildDir, "")) return *recorded;
  } catch (const Error&) {
    // A child killed while recording cannot leave half a file (atomic
    // replace); anything else unreadable is reported below as no outcome.
  }
  std::string how;
  if (t.kind == Kind::ExecFailed || t.kind == Kind::ChdirFailed) {
    how = "could not be started: " + std::string(std::strerror(t.err));
  } else if (WIFSIGNALED(t.wait_status)) {
    how = "was killed by " + short_signal_name(WTERMSIG(t.wait_status));
  } else {
    how = "exited with " + std::to_string(WEXITSTATUS(t.wait_status));
  }
  std::string last = read_tail(state_dir / files::kStderr, kCauseTailBytes);
  while (!last.empty() && (last.back() == '\n' || last.back() == '\r')) last.pop_back();
  if (const auto nl = last.rfind('\n'); nl != std::string::npos) last.erase(0, nl + 1);
  const Placement::NoOutcome& no = spec.child.value_or(Placement::NoOutcome{"action.child_failed", "States.TaskFailed", "the action's process"});
  const Error e(no.id, no.error, no.what + " " + how + " and no outcome" + (last.empty() ? "" : ": " + last),
                {{"stderr", (state_dir / files::kStderr).string()}});
  return ActionState::failed("", no.error, e.what());
}

}  // namespace beamflow::actions::command
