// command: runs an external program, crash-proof.
//
// The program runs under a detached supervisor (supervisor.hpp) that holds
// state_dir/lock for its whole life. run() and status() decide from the
// state directory alone, so any engine process, the original or one started
// after a kill -9, reaches the same answer:
//   result.json present              -> the recorded outcome
//   lock held by another process     -> the supervisor is alive: Active
//   lock free, `started` present     -> the supervisor died mid-command:
//                                       Failed "Command.Lost" (never re-run;
//                                       the flow's Retry decides)
//   lock free, not started           -> nothing ran yet: launch, Active
// The launch hands the held lock itself to the supervisor, so there is no
// instant at which a second engine could see the lock free and launch again.
#include <sys/types.h>

#include <algorithm>
#include <csignal>
#include <thread>

#include "actions/builtin_action.hpp"
#include "actions/builtins.hpp"
#include "actions/command_spec.hpp"
#include "actions/durable.hpp"
#include "actions/launch.hpp"
#include "core/error.hpp"

namespace beamflow::actions {
namespace {

namespace stdfs = std::filesystem;
using namespace command;
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

class CommandAction final : public BuiltinAction {
 public:
  explicit CommandAction(CommandOptions options)
      : BuiltinAction("command",
                      "Runs a program (no shell) under a supervisor that survives the engine; "
                      "output {exit_code, stdout, stderr, json, duration_seconds}.",
                      Timing::Asynchronous, Effects::Observable, command::input_spec()),
        m_options(std::move(options)) {
    if (m_options.supervisor_exe.empty()) m_options.supervisor_exe = current_executable();
  }

  ActionState run(const ActionRequest& r) override {
    return checked(r, [&] { return drive(r); });
  }
  // Same decision as run(): launch if never launched, re-attach otherwise.
  ActionState status(const ActionRequest& r) override { return run(r); }

  ActionState cancel(const ActionRequest& r) override {
    return checked(r, [&] {
      const stdfs::path& dir = r.state_dir;
      if (auto done = durable::load_result(dir, r.action_id)) return *done;
      durable::write_json(dir / files::kCancel,
                          {{"requested_at", durable::rfc3339(Clock::now())}});
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
      const auto give_up = Clock::now() + m_options.kill_grace + std::chrono::seconds(2);
      while (Clock::now() < give_up) {
        if (auto done = durable::load_result(dir, r.action_id)) return *done;
        std::this_thread::sleep_for(milliseconds(20));
      }
      ActionState s = running(r);
      s.details["cancel_requested"] = true;
      return s;
    });
  }

 private:
  ActionState drive(const ActionRequest& r) {
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
    durable::write_json(dir / files::kSpec,
                        spec_from_input(r.input, r.work_dir, m_options.kill_grace).to_json());
    spawn_supervisor(m_options.supervisor_exe, dir, std::move(*lock));
    return running(r);
  }

  // Active, polled more slowly the longer the command has run (20 ms to
  // 200 ms): short commands finish promptly, long ones cost little.
  ActionState running(const ActionRequest& r) const {
    const stdfs::path& dir = r.state_dir;
    milliseconds poll{20};
    if (const auto since = mtime(dir / files::kSpec)) {
      const auto elapsed =
          std::chrono::duration_cast<milliseconds>(Clock::now() - to_system(*since));
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

  CommandOptions m_options;
};

}  // namespace

stdfs::path current_executable() {
  std::error_code ec;
  auto exe = stdfs::read_symlink("/proc/self/exe", ec);
  if (ec) {
    throw Error("command.launch_failed", "Command.LaunchFailed",
                "cannot resolve the running executable: " + ec.message(),
                {{"file", "/proc/self/exe"}});
  }
  return exe;
}

std::shared_ptr<Action> make_command_action(CommandOptions options) {
  return std::make_shared<CommandAction>(std::move(options));
}

}  // namespace beamflow::actions
