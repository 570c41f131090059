// The command action's exactly-once guarantees: re-attaching after run() is
// repeated, after the engine dies at any instant, and after the supervisor
// dies (Command.Lost: never run twice).
#include "command_fixture.hpp"
#include "platform/machine.hpp"

namespace beamflow::actions::testing {
namespace {

using Strings = std::vector<std::string>;

Json append_then_sleep(const std::string& ledger, const std::string& seconds) {
  return {{"argv", Strings{"sh", "-c", "echo ran >> " + ledger + "; sleep " + seconds}}};
}

TEST_F(CommandTest, RepeatedRunReattachesWhileRunningAndAfterwards) {
  const auto r = fresh(append_then_sleep("ledger", "0.5"));
  EXPECT_EQ(command->run(r).status, ActionStatus::Active);
  EXPECT_EQ(command->run(r).status, ActionStatus::Active);
  ASSERT_TRUE(eventually([&] { return line_count(work_dir / "ledger") == 1; }));
  const ActionState mid = command->run(r);
  EXPECT_EQ(mid.status, ActionStatus::Active);
  EXPECT_GE(mid.poll_after.count(), 20);
  EXPECT_LE(mid.poll_after.count(), 200);
  EXPECT_TRUE(mid.heartbeat.has_value());
  const ActionState done = drive(*command, r);
  ASSERT_EQ(done.status, ActionStatus::Succeeded) << done.cause;
  EXPECT_EQ(command->run(r).details, done.details);
  EXPECT_EQ(command->status(r).details, done.details);
  EXPECT_EQ(line_count(work_dir / "ledger"), 1);
}

// A child process plays the engine: it calls run() and dies by `death`.
void engine_that_dies(Action& action, const ActionRequest& r, bool sigkill_itself) {
  const int code = test::run_in_child([&] {
    action.run(r);
    if (sigkill_itself) ::raise(SIGKILL);
    return 0;
  });
  ASSERT_GE(code, 0);
}

TEST_F(CommandTest, NewEngineReattachesAfterTheEngineExits) {
  const auto r = fresh(append_then_sleep("ledger", "0.3"));
  engine_that_dies(*command, r, /*sigkill_itself=*/false);
  const ActionState s = drive(*command, r);  // the "new engine"
  ASSERT_EQ(s.status, ActionStatus::Succeeded) << s.cause;
  EXPECT_EQ(line_count(work_dir / "ledger"), 1);
}

TEST_F(CommandTest, NewEngineReattachesAfterTheEngineIsKilled) {
  const auto r = fresh(append_then_sleep("ledger", "0.3"));
  engine_that_dies(*command, r, /*sigkill_itself=*/true);
  const ActionState s = drive(*command, r);
  ASSERT_EQ(s.status, ActionStatus::Succeeded) << s.cause;
  EXPECT_EQ(line_count(work_dir / "ledger"), 1);
}

TEST_F(CommandTest, EngineKilledAtAnyInstantNeverRunsTheCommandTwice) {
  // SIGKILL lands at staggered moments: before the lock, between lock and
  // fork, between the two forks, after the launch.
  for (int i = 0; i < 12; ++i) {
    SCOPED_TRACE("delay step " + std::to_string(i));
    const std::string ledger = "ledger" + std::to_string(i);
    const auto r = fresh(append_then_sleep(ledger, "0.1"));
    test::Process engine = test::Process::fork([&] {
      command->run(r);
      ::pause();
      return 0;
    });
    ASSERT_GE(engine.pid(), 0);
    std::this_thread::sleep_for(std::chrono::microseconds(i * 250));
    engine.kill(SIGKILL);
    ASSERT_EQ(engine.wait().signal, SIGKILL);
    const ActionState s = drive(*command, r);
    ASSERT_EQ(s.status, ActionStatus::Succeeded) << s.error << ": " << s.cause;
    EXPECT_EQ(line_count(work_dir / ledger), 1);
  }
}

TEST_F(CommandTest, KilledSupervisorIsLostAndNotRerun) {
  const auto r = fresh({{"argv", Strings{"sh", "-c", "echo ran >> ledger; echo $$ > cmd.pid; exec sleep 30"}}});
  EXPECT_EQ(command->run(r).status, ActionStatus::Active);
  ASSERT_TRUE(eventually([&] { return line_count(work_dir / "cmd.pid") == 1; }));
  const auto supervisor = supervisor_of(r);
  ASSERT_TRUE(supervisor.has_value());
  ASSERT_EQ(::kill(*supervisor, SIGKILL), 0);
  const ActionState s = drive(*command, r);
  EXPECT_EQ(s.status, ActionStatus::Failed);
  EXPECT_EQ(s.error, "Command.Lost");
  EXPECT_EQ(s.cause, "the supervisor on " + platform::this_home().host + " (pid " + std::to_string(*supervisor) +
                         ") died while the command ran; it was not run again");
  EXPECT_EQ(command->run(r).error, "Command.Lost");
  EXPECT_EQ(line_count(work_dir / "ledger"), 1);
  // The command died with its supervisor (PR_SET_PDEATHSIG).
  const pid_t cmd = std::atoi(slurp(work_dir / "cmd.pid").c_str());
  EXPECT_TRUE(eventually([&] { return process_gone(cmd); }));
}

TEST_F(CommandTest, CancelStopsARunningCommand) {
  const auto r = fresh(append_then_sleep("ledger", "30"));
  command->run(r);
  ASSERT_TRUE(eventually([&] { return line_count(work_dir / "ledger") == 1; }));
  const ActionState c = command->cancel(r);
  EXPECT_EQ(c.status, ActionStatus::Failed);
  EXPECT_EQ(c.error, "Action.Cancelled");
  EXPECT_EQ(c.cause, "cancelled while running; its process group got SIGTERM");
  EXPECT_EQ(command->status(r).error, "Action.Cancelled");
  EXPECT_EQ(command->cancel(r).cause, c.cause);
}

TEST_F(CommandTest, CancelBeforeLaunchNeverRuns) {
  const auto r = fresh(append_then_sleep("ledger", "0"));
  const ActionState c = command->cancel(r);
  EXPECT_EQ(c.error, "Action.Cancelled");
  EXPECT_EQ(c.cause, "cancelled before the command started");
  EXPECT_EQ(command->run(r).cause, c.cause);
  EXPECT_FALSE(stdfs::exists(work_dir / "ledger"));
}

TEST_F(CommandTest, SecondSupervisorNeverRunsTheCommandAgain) {
  const auto r = fresh(append_then_sleep("ledger", "0.5"));
  command->run(r);
  ASSERT_TRUE(eventually([&] { return line_count(work_dir / "ledger") == 1; }));
  EXPECT_EQ(supervise_by_hand(r.state_dir), 0);  // the lock is held: it leaves at once
  const ActionState s = drive(*command, r);
  ASSERT_EQ(s.status, ActionStatus::Succeeded);
  EXPECT_EQ(supervise_by_hand(r.state_dir), 0);  // a result exists: nothing to do
  EXPECT_EQ(line_count(work_dir / "ledger"), 1);
  EXPECT_EQ(command->run(r).details, s.details);
}

TEST_F(CommandTest, SupervisorUsage) {
  const test::ProcessResult r = test::run_process({current_executable().string(), "__supervise"});
  EXPECT_EQ(r.exit_code, 2);
}

}  // namespace
}  // namespace beamflow::actions::testing
