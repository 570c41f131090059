// command: runs an external program, crash-proof.
//
// The program runs under a detached supervisor (supervisor.hpp) that holds
// state_dir/lock for its whole life; run(), status() and cancel() follow the
// state-directory protocol of supervised.hpp, shared with the actions that
// run as child processes.
#include "actions/builtin_action.hpp"
#include "actions/builtins.hpp"
#include "actions/command_spec.hpp"
#include "actions/supervised.hpp"
#include "core/error.hpp"

namespace beamflow::actions {
namespace {

namespace stdfs = std::filesystem;
using namespace command;

class CommandAction final : public BuiltinAction, public supervised::CancelsSupervised {
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
    return checked(r, [&] {
      return supervised::drive(r, m_options.supervisor_exe,
                               [&] { return spec_from_input(r.input, r.work_dir, m_options.kill_grace); });
    });
  }
  // Same decision as run(): launch if never launched, re-attach otherwise.
  ActionState status(const ActionRequest& r) override { return run(r); }

  ActionState cancel(const ActionRequest& r) override {
    return checked(r, [&] { return supervised::cancel(r, m_options.kill_grace); });
  }
  // The driver's cancel: asks the supervisor and returns; it records the
  // outcome once the program has stopped.
  ActionState request_cancel(const ActionRequest& r) override {
    return checked(r, [&] { return supervised::request_cancel(r); });
  }

 private:
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
