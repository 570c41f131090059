#pragma once
// A `command` action with a short kill grace, and helpers to watch the
// supervisor's state directory.
#include <signal.h>

#include <optional>

#include "action_fixture.hpp"
#include "actions/durable.hpp"

namespace beamflow::actions::testing {

class CommandTest : public ActionTest {
 protected:
  void SetUp() override {
    ActionTest::SetUp();
    command = make_command_action(
        {.supervisor_exe = current_executable(), .kill_grace = std::chrono::milliseconds(300)});
  }

  // A request with a fresh action id (state "Cmd<n>").
  ActionRequest fresh(const Json& input) { return request(input, "Cmd" + std::to_string(m_next++)); }
  ActionState run_to_end(const Json& input) { return drive(*command, fresh(input)); }

  // Lines of a file the commands append to.
  static int line_count(const stdfs::path& file) {
    const std::string text = slurp(file);
    return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  }

  // The supervisor pid recorded in `started`, once it is there.
  static std::optional<pid_t> supervisor_of(const ActionRequest& r) {
    const auto started = durable::read_json(r.state_dir / "started");
    if (!started) return std::nullopt;
    return started->at("supervisor_pid").get<pid_t>();
  }

  // Gone, or a zombie nobody reaps (this container's init does not).
  static bool process_gone(pid_t pid) {
    const std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
    if (stat.empty()) return true;
    const auto close = stat.rfind(')');
    return close != std::string::npos && close + 2 < stat.size() &&
           (stat[close + 2] == 'Z' || stat[close + 2] == 'X');
  }

  std::shared_ptr<Action> command;

 private:
  int m_next = 0;
};

}  // namespace beamflow::actions::testing
