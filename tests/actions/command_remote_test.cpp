// A supervisor seen from another node (issue 12): the pid in `started` is
// signalled only where it was recorded (host, boot id, pid namespace);
// elsewhere a cancel goes through the cancel file alone, and a Command.Lost
// names the supervisor's host. Another node is played by rewriting the home
// recorded in `started`, with the pid of a bystander process that must never
// get a signal.
#include <sys/wait.h>

#include <fstream>
#include <iterator>

#include "command_fixture.hpp"
#include "actions/supervised.hpp"
#include "platform/machine.hpp"

namespace beamflow::actions::testing {
namespace {

using Strings = std::vector<std::string>;

class RemoteSupervisorTest : public CommandTest {
 protected:
  // Starts a command that runs until cancelled, waits until it runs.
  ActionRequest start_long_command() {
    const auto r = fresh({{"argv", Strings{"sh", "-c", "echo ran >> ledger; exec sleep 30"}}});
    EXPECT_EQ(command->run(r).status, ActionStatus::Active);
    EXPECT_TRUE(eventually([&] { return line_count(work_dir / "ledger") == 1; }));
    EXPECT_TRUE(supervisor_of(r).has_value());
    return r;
  }
  // `started` as a supervisor with this pid and home would have written it.
  static void record_supervisor(const ActionRequest& r, pid_t pid, const platform::ProcessHome& home) {
    Json started = *durable::read_json(r.state_dir / "started");
    started["supervisor_pid"] = pid;
    started["host"] = home.host;
    started["boot_id"] = home.boot_id;
    started["pid_ns"] = home.pid_ns;
    durable::write_json(r.state_dir / "started", started);
  }
  static bool has_exec_d_as_supervisor(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
    const std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return cmdline.find(std::string("__supervise") + '\0') != std::string::npos;
  }
  static bool still_running(test::Process& p) {
    int status;
    return ::waitpid(p.pid(), &status, WNOHANG) == 0;
  }
};

TEST_F(RemoteSupervisorTest, StartedRecordsTheSupervisorsHome) {
  const auto r = start_long_command();
  const Json started = *durable::read_json(r.state_dir / "started");
  const platform::ProcessHome& here = platform::this_home();
  EXPECT_EQ(started.at("host"), here.host);
  EXPECT_EQ(started.at("boot_id"), here.boot_id);
  EXPECT_EQ(started.at("pid_ns"), here.pid_ns);
  EXPECT_FALSE(here.host.empty());
  EXPECT_EQ(here.boot_id.size(), 36u);  // a UUID
  EXPECT_EQ(here.pid_ns.rfind("pid:[", 0), 0u);
  EXPECT_EQ(command->cancel(r).error, "Action.Cancelled");
}

TEST_F(RemoteSupervisorTest, CancelFromAnotherNodeGoesThroughTheFileAndSignalsNoOne) {
  for (const std::string part : {"host", "boot_id", "pid_ns"}) {
    SCOPED_TRACE("another " + part);
    const auto r = start_long_command();
    test::Process bystander = test::Process::start({"sleep", "30"});
    platform::ProcessHome elsewhere = platform::this_home();
    if (part == "host") elsewhere.host = "node-elsewhere";
    if (part == "boot_id") elsewhere.boot_id = "00000000-0000-0000-0000-000000000000";
    if (part == "pid_ns") elsewhere.pid_ns = "pid:[1]";
    record_supervisor(r, bystander.pid(), elsewhere);
    const ActionState asked = dynamic_cast<supervised::CancelsSupervised&>(*command).request_cancel(r);
    EXPECT_EQ(asked.status, ActionStatus::Active);
    EXPECT_EQ(asked.details.value("cancel_requested", false), true);
    // The supervisor finds the cancel file at its next look and stops the command.
    const ActionState s = drive(*command, r);
    EXPECT_EQ(s.error, "Action.Cancelled");
    EXPECT_EQ(s.cause, "cancelled while running; its process group got SIGTERM");
    EXPECT_TRUE(still_running(bystander)) << "the pid recorded by another node was signalled";
    EXPECT_EQ(line_count(work_dir / "ledger"), 1);
    stdfs::remove(work_dir / "ledger");
  }
}

// The control: the same bystander recorded with this machine's home does
// get the SIGTERM (so the test above can fail).
TEST_F(RemoteSupervisorTest, CancelOnTheSupervisorsOwnNodeSignalsItsPid) {
  const auto r = start_long_command();
  test::Process bystander = test::Process::start({"sleep", "30"});
  record_supervisor(r, bystander.pid(), platform::this_home());
  dynamic_cast<supervised::CancelsSupervised&>(*command).request_cancel(r);
  EXPECT_EQ(bystander.wait().exit_code, 128 + SIGTERM);
  EXPECT_EQ(drive(*command, r).error, "Action.Cancelled");
}

TEST_F(RemoteSupervisorTest, LostNamesTheSupervisorsHost) {
  const auto r = start_long_command();
  const pid_t supervisor = *supervisor_of(r);
  platform::ProcessHome elsewhere = platform::this_home();
  elsewhere.host = "node7";
  record_supervisor(r, supervisor, elsewhere);
  ASSERT_EQ(::kill(supervisor, SIGKILL), 0);
  const ActionState s = drive(*command, r);
  EXPECT_EQ(s.error, "Command.Lost");
  EXPECT_EQ(s.cause, "the supervisor on node7 (pid " + std::to_string(supervisor) +
                         ") died while the command ran; it was not run again");
  EXPECT_EQ(line_count(work_dir / "ledger"), 1);
}

// A free lock is not the last word where the answer can be checked: a
// process on this machine whose command line is this state directory's
// supervisor keeps the action Active (a lock that did not hold, e.g. a
// node-local flock), and Command.Lost comes only once it is gone.
TEST_F(RemoteSupervisorTest, FreeLockWithTheSupervisorAliveHereIsNotLost) {
  const auto r = fresh({{"argv", Strings{"true"}}});
  durable::write_json(r.state_dir / "spec.json", {{"argv", Strings{"true"}}});
  test::Process impostor = test::Process::start({"sh", "-c", "while :; do sleep 0.1; done", "__supervise", r.state_dir.string()});
  const pid_t pid = impostor.pid();
  // Until the child has exec'd, its command line is this test's: looking
  // then would rightly find no supervisor (seen on a loaded CI machine).
  ASSERT_TRUE(eventually([&] { return has_exec_d_as_supervisor(pid); }));
  durable::write_json(r.state_dir / "started", {{"supervisor_pid", pid}});
  record_supervisor(r, pid, platform::this_home());
  EXPECT_EQ(command->run(r).status, ActionStatus::Active);
  EXPECT_EQ(command->run(r).status, ActionStatus::Active);
  impostor.kill(SIGKILL);
  impostor.wait();
  const ActionState s = command->run(r);
  EXPECT_EQ(s.error, "Command.Lost");
  EXPECT_EQ(s.cause, "the supervisor on " + platform::this_home().host + " (pid " + std::to_string(pid) +
                         ") died while the command ran; it was not run again");
}

}  // namespace
}  // namespace beamflow::actions::testing
