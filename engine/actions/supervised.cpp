#include "actions/supervised.hpp"

#include <sys/types.h>

#include <algorithm>
#include <csignal>
#include <thread>

#include "actions/builtin_action.hpp"
#include "actions/durable.hpp"
#include "actions/launch.hpp"
#include "core/error.hpp"

namespace beamflow::actions::supervised {
namespace {

namespace stdfs = std::filesystem;
namespace files = command::files;
using std::chrono::milliseconds;

std::optional<stdfs::file_time_type> mtime(const stdfs::path& p) {
  std::error_code ec;
  const auto t = stdfs::last_write_time(p, ec);
  return ec ? std::nullopt : std::optional(t);
}

Clock::time_point to_system(stdfs::file_time_type t) {
  return std::chrono::time_point_cast<Clock::duration>(std::chrono::file_clock::to_sys(t));
}

// The supervisor's pid as recorded in `started`, 0 when unknown.
pid_t supervisor_pid(const stdfs::path& dir) {
  try {
    const auto started = durable::read_json(dir / files::kStarted);
    return started ? started->value("supervisor_pid", 0) : 0;
  } catch (const Error&) {
    return 0;
  }
}

}  // namespace

ActionState drive(const ActionRequest& r, const stdfs::path& supervisor_exe,
                  const std::function<command::CommandSpec()>& make_spec) {
  const stdfs::path& dir = r.state_dir;
  if (auto done = durable::load_result(dir, r.action_id)) return *done;
  auto lock = fs::FileLock::try_acquire(dir / files::kLock);
  if (!lock) return running(r);
  // The supervisor may have finished between the two looks.
  if (auto done = durable::load_result(dir, r.action_id)) return *done;
  if (stdfs::exists(dir / files::kStarted)) {
    const pid_t pid = supervisor_pid(dir);
    return durable::save_result(
        dir, ActionState::failed(
                 r.action_id, "Command.Lost",
                 "the supervisor" + (pid > 0 ? " (pid " + std::to_string(pid) + ")" : std::string()) +
                     " died while the command ran; it was not run again"));
  }
  durable::write_json(dir / files::kSpec, make_spec().to_json());
  command::spawn_supervisor(supervisor_exe, dir, std::move(*lock));
  return running(r);
}

ActionState running(const ActionRequest& r) {
  const stdfs::path& dir = r.state_dir;
  milliseconds poll{20};
  if (const auto since = mtime(dir / files::kSpec)) {
    const auto elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - to_system(*since));
    poll = std::clamp(elapsed / 10, milliseconds(20), milliseconds(200));
  }
  ActionState s = ActionState::active(r.action_id, poll, {{"state_dir", dir.string()}});
  std::optional<stdfs::file_time_type> beat;
  for (const char* stream : {files::kStdout, files::kStderr}) {
    if (const auto t = mtime(dir / stream); t && (!beat || *t > *beat)) beat = t;
  }
  if (beat) s.heartbeat = to_system(*beat);
  return s;
}

ActionState request_cancel(const ActionRequest& r) {
  const stdfs::path& dir = r.state_dir;
  if (auto done = durable::load_result(dir, r.action_id)) return *done;
  durable::write_json(dir / files::kCancel, {{"requested_at", durable::rfc3339(Clock::now())}});
  if (auto lock = fs::FileLock::try_acquire(dir / files::kLock)) {
    if (auto done = durable::load_result(dir, r.action_id)) return *done;
    return durable::save_result(
        dir, cancelled(r, stdfs::exists(dir / files::kStarted)
                              ? "cancelled after its supervisor had died (the command had started)"
                              : "cancelled before the command started"));
  }
  // The supervisor is alive: SIGTERM makes it stop the command now rather
  // than at its next look at the cancel file.
  if (const pid_t pid = supervisor_pid(dir); pid > 0) ::kill(pid, SIGTERM);
  ActionState s = running(r);
  s.details["cancel_requested"] = true;
  return s;
}

ActionState cancel(const ActionRequest& r, milliseconds kill_grace) {
  ActionState s = request_cancel(r);
  if (s.done()) return s;
  const auto give_up = Clock::now() + kill_grace + std::chrono::seconds(2);
  while (Clock::now() < give_up) {
    if (auto done = durable::load_result(r.state_dir, r.action_id)) return *done;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return s;
}

ActionState wait(const ActionRequest& r, const stdfs::path& supervisor_exe,
                 const std::function<command::CommandSpec()>& make_spec) {
  for (;;) {
    ActionState s = drive(r, supervisor_exe, make_spec);
    if (s.done()) return s;
    std::this_thread::sleep_for(s.poll_after);
  }
}

}  // namespace beamflow::actions::supervised
