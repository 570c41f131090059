#include "actions/supervised.hpp"

#include <sys/types.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <iterator>
#include <thread>

#include "actions/builtin_action.hpp"
#include "actions/durable.hpp"
#include "actions/launch.hpp"
#include "actions/supervisor.hpp"
#include "core/error.hpp"
#include "platform/machine.hpp"

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

// Who the supervisor is, as recorded in `started`: its pid means something
// only where `home` is this process's (platform/machine.hpp).
struct Recorded {
  pid_t pid = 0;  // 0 when unknown
  platform::ProcessHome home;

  bool signallable() const { return pid > 0 && home.same_as(platform::this_home()); }
  // "the supervisor on node2 (pid 123)"
  std::string name() const {
    std::string s = "the supervisor";
    if (!home.host.empty()) s += " on " + home.host;
    if (pid > 0) s += " (pid " + std::to_string(pid) + ")";
    return s;
  }
};

Recorded recorded_supervisor(const stdfs::path& dir) {
  Recorded r;
  try {
    const auto started = durable::read_json(dir / files::kStarted);
    if (!started || !started->is_object()) return r;
    r.pid = started->value("supervisor_pid", 0);
    r.home = {started->value("host", std::string()), started->value("boot_id", std::string()),
              started->value("pid_ns", std::string())};
  } catch (const std::exception&) {
  }
  return r;
}

// Whether `r` is alive here as the supervisor of `dir` although its lock
// was free: the lock did not work (a file system whose flock is node-local,
// a lease lost and recovered). Never Command.Lost then. Only answerable on
// the supervisor's own machine; a zombie has no command line.
bool alive_here(const Recorded& r, const stdfs::path& dir) {
  if (!r.signallable()) return false;
  std::ifstream in("/proc/" + std::to_string(r.pid) + "/cmdline", std::ios::binary);
  const std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string own_dir = std::string(1, '\0') + dir.string() + '\0';
  return cmdline.find(std::string(1, '\0') + kSuperviseCommand + '\0') != std::string::npos &&
         (cmdline + '\0').find(own_dir) != std::string::npos;
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
    const Recorded sup = recorded_supervisor(dir);
    if (alive_here(sup, dir)) return running(r);
    return durable::save_result(
        dir, ActionState::failed(r.action_id, "Command.Lost",
                                 sup.name() + " died while the command ran; it was not run again"));
  }
  // Not fsynced: the lock is held here only for a few system calls, never
  // an fsync. An engine stopped while it holds the lock (a worker rank
  // SIGSTOPped or hung, declared lost by the pilot) would keep the action
  // Active wherever it is placed again, until that engine ran on. The spec
  // is read by the supervisor spawned next, from the page cache; a machine
  // crash kills that supervisor too, and the next look either launches again
  // (no `started`: the spec is written again) or records Command.Lost.
  durable::replace_json(dir / files::kSpec, make_spec().to_json());
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
  // The supervisor is alive. On its own machine, SIGTERM makes it stop the
  // command now rather than at its next look at the cancel file (within
  // kCancelPoll); from another node its pid names some other process, so the
  // cancel file alone asks it.
  if (const Recorded sup = recorded_supervisor(dir); sup.signallable()) ::kill(sup.pid, SIGTERM);
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
