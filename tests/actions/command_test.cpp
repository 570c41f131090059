// The command action's observable behaviour: outputs, failures, inputs.
#include <sys/stat.h>

#include <cstdlib>

#include "actions/supervisor.hpp"
#include "command_fixture.hpp"

namespace beamflow::actions::testing {
namespace {

using Strings = std::vector<std::string>;

Json sh(const std::string& script) { return {{"argv", Strings{"sh", "-c", script}}}; }

TEST_F(CommandTest, SucceedsWithOutputAndParsedJson) {
  const ActionState s = run_to_end(sh("printf '{\"n\": 3, \"ok\": true}'; echo warn >&2"));
  ASSERT_EQ(s.status, ActionStatus::Succeeded) << s.error << ": " << s.cause;
  EXPECT_EQ(s.details["exit_code"], 0);
  EXPECT_EQ(s.details["stdout"], "{\"n\": 3, \"ok\": true}");
  EXPECT_EQ(s.details["stderr"], "warn\n");
  EXPECT_EQ(s.details["json"], (Json{{"n", 3}, {"ok", true}}));
  EXPECT_TRUE(s.details["duration_seconds"].is_number());
  EXPECT_GE(s.details["duration_seconds"].get<double>(), 0.0);
}

TEST_F(CommandTest, NonJsonStdoutHasNoJsonField) {
  const ActionState s = run_to_end({{"argv", Strings{"echo", "hello", "world"}}});
  ASSERT_EQ(s.status, ActionStatus::Succeeded);
  EXPECT_EQ(s.details["stdout"], "hello world\n");
  EXPECT_FALSE(s.details.contains("json"));
}

TEST_F(CommandTest, NonZeroExitFailsWithStderrInCause) {
  const ActionState s = run_to_end(sh("echo partial; echo 'disk quota exceeded' >&2; exit 3"));
  ASSERT_EQ(s.status, ActionStatus::Failed);
  EXPECT_EQ(s.error, "Command.Failed");
  EXPECT_EQ(s.cause, "exit code 3: disk quota exceeded");
  EXPECT_EQ(s.details["exit_code"], 3);
  EXPECT_EQ(s.details["stdout"], "partial\n");
  EXPECT_EQ(run_to_end(sh("exit 1")).cause, "exit code 1");
}

TEST_F(CommandTest, CauseQuotesOnlyTheStderrTail) {
  const ActionState s = run_to_end(sh("head -c 10000 /dev/zero | tr '\\0' x >&2; echo END >&2; exit 2"));
  ASSERT_EQ(s.error, "Command.Failed");
  EXPECT_EQ(s.cause.substr(0, 13), "exit code 2: ");
  EXPECT_EQ(s.cause.size(), 13u + 2048u - 1u);  // 2 KiB tail, final newline trimmed
  EXPECT_EQ(s.cause.substr(s.cause.size() - 5), "xxEND");
}

TEST_F(CommandTest, KilledBySignalNamesIt) {
  const ActionState s = run_to_end(sh("kill -USR1 $$"));
  ASSERT_EQ(s.status, ActionStatus::Failed);
  EXPECT_EQ(s.error, "Command.Failed");
  EXPECT_EQ(s.cause, "killed by SIGUSR1 (User defined signal 1)");
  EXPECT_EQ(s.details["signal"], "SIGUSR1");
  EXPECT_EQ(s.details["exit_code"], 128 + SIGUSR1);
}

TEST_F(CommandTest, TimeoutTerminatesTheProcessGroup) {
  Json input = sh("sleep 30 & echo $! > child.pid; wait");
  input["timeout_seconds"] = 0.3;
  const ActionState s = run_to_end(input);
  ASSERT_EQ(s.status, ActionStatus::Failed);
  EXPECT_EQ(s.error, "Command.Timeout");
  EXPECT_EQ(s.cause, "timed out after 0.3 s (timeout_seconds); its process group got SIGTERM");
  EXPECT_EQ(s.details["signal"], "SIGTERM");
  EXPECT_EQ(s.details["exit_code"], 128 + SIGTERM);
  // The background child was in the group too.
  const pid_t child = std::atoi(slurp(work_dir / "child.pid").c_str());
  ASSERT_GT(child, 0);
  EXPECT_TRUE(eventually([&] { return process_gone(child); }));
}

TEST_F(CommandTest, TimeoutEscalatesToSigkill) {
  Json input = sh("trap '' TERM; sleep 30");
  input["timeout_seconds"] = 0.2;
  const ActionState s = run_to_end(input);
  EXPECT_EQ(s.error, "Command.Timeout");
  EXPECT_EQ(s.cause,
            "timed out after 0.2 s (timeout_seconds); its process group got SIGTERM, then SIGKILL "
            "after 0.3 s");
  EXPECT_EQ(s.details["signal"], "SIGKILL");
}

TEST_F(CommandTest, MissingProgramIsNotFound) {
  ActionState s = run_to_end({{"argv", Strings{"beamflow-no-such-program", "x"}}});
  EXPECT_EQ(s.error, "Command.NotFound");
  EXPECT_EQ(s.cause, "beamflow-no-such-program: No such file or directory (looked up in PATH)");
  s = run_to_end({{"argv", Strings{"/nonexistent/dir/prog"}}});
  EXPECT_EQ(s.error, "Command.NotFound");
  EXPECT_EQ(s.cause, "/nonexistent/dir/prog: No such file or directory");
}

TEST_F(CommandTest, NonExecutableProgramIsNotFound) {
  const auto script = work_dir / "script.sh";
  std::ofstream(script) << "#!/bin/sh\necho hi\n";
  ::chmod(script.c_str(), 0644);
  const ActionState s = run_to_end({{"argv", Strings{script.string()}}});
  EXPECT_EQ(s.error, "Command.NotFound");
  EXPECT_EQ(s.cause, script.string() + ": Permission denied");
}

TEST_F(CommandTest, EnvAddsToTheInheritedEnvironmentAndCwdIsRelativeToWorkDir) {
  stdfs::create_directories(work_dir / "sub" / "dir");
  ::setenv("BEAMFLOW_TEST_INHERITED", "inherited", 1);
  Json input = sh("printf '%s|%s|%s' \"$FOO\" \"$BEAMFLOW_TEST_INHERITED\" \"$(pwd -P)\"");
  input["env"] = {{"FOO", "bar baz"}};
  input["cwd"] = "sub/dir";
  const ActionState s = run_to_end(input);
  ::unsetenv("BEAMFLOW_TEST_INHERITED");
  ASSERT_EQ(s.status, ActionStatus::Succeeded) << s.cause;
  EXPECT_EQ(s.details["stdout"],
            "bar baz|inherited|" + stdfs::canonical(work_dir / "sub" / "dir").string());
}

TEST_F(CommandTest, DefaultCwdIsTheWorkDir) {
  const ActionState s = run_to_end({{"argv", Strings{"pwd", "-P"}}});
  EXPECT_EQ(s.details["stdout"], stdfs::canonical(work_dir).string() + "\n");
}

TEST_F(CommandTest, MissingCwdFails) {
  Json input = {{"argv", Strings{"true"}}, {"cwd", "nowhere"}};
  const ActionState s = run_to_end(input);
  EXPECT_EQ(s.error, "Command.Failed");
  EXPECT_EQ(s.cause, "cannot enter working directory " + (work_dir / "nowhere").string() +
                         ": No such file or directory");
}

TEST_F(CommandTest, StdinIsFedToTheCommand) {
  Json input = {{"argv", Strings{"cat"}}, {"stdin", "line one\nline two\n"}};
  EXPECT_EQ(run_to_end(input).details["stdout"], "line one\nline two\n");
  // Without stdin the command reads /dev/null, never the engine's terminal.
  EXPECT_EQ(run_to_end({{"argv", Strings{"cat"}}}).details["stdout"], "");
}

TEST_F(CommandTest, OutputIsCappedToTheTail) {
  const auto r = fresh(sh("head -c 200000 /dev/zero | tr '\\0' a; echo; echo LAST"));
  const ActionState s = drive(*command, r);
  ASSERT_EQ(s.status, ActionStatus::Succeeded);
  const std::string out = s.details["stdout"];
  EXPECT_EQ(out.size(), 64u * 1024u);
  EXPECT_EQ(out.substr(out.size() - 5), "LAST\n");
  // The whole stream stays in the state directory.
  EXPECT_EQ(stdfs::file_size(r.state_dir / "stdout"), 200000u + 6u);
}

TEST_F(CommandTest, BinaryOutputIsStoredAsValidUtf8) {
  const ActionState s = run_to_end(sh("printf 'a\\377b'"));
  ASSERT_EQ(s.status, ActionStatus::Succeeded);
  EXPECT_EQ(s.details["stdout"], "a\xEF\xBF\xBD" "b");  // U+FFFD for the bad byte
}

TEST_F(CommandTest, RejectsBadInput) {
  auto cause = [&](Json input) {
    const ActionState s = command->run(fresh(std::move(input)));
    EXPECT_EQ(s.error, "Action.InvalidInput");
    return s.cause;
  };
  EXPECT_EQ(cause(Json::object()), "command: input.argv is required");
  EXPECT_EQ(cause({{"argv", Json::array()}}), "command: input.argv must not be empty");
  EXPECT_EQ(cause({{"argv", "ls -l"}}), "command: input.argv must be an array of strings, got string");
  EXPECT_EQ(cause({{"argv", {"ls", 1}}}), "command: input.argv[1] must be a string, got integer");
  EXPECT_EQ(cause({{"argv", {"ls"}}, {"env", {{"A", 1}}}}),
            "command: input.env.A must be a string, got integer");
  EXPECT_EQ(cause({{"argv", {"ls"}}, {"timeout_seconds", 0}}),
            "command: input.timeout_seconds must be > 0");
  EXPECT_EQ(cause({{"argv", {"ls"}}, {"timeout", 5}}),
            "command: input.timeout is not a known field (known: argv, cwd, env, timeout_seconds, "
            "stdin)");
  EXPECT_EQ(cause({{"argv", {"ls"}}, {"stdin", 5}}), "command: input.stdin must be a string, got integer");
  // Nothing was launched for a bad input.
  const auto r = fresh(Json::object());
  EXPECT_EQ(command->run(r).error, "Action.InvalidInput");
  EXPECT_FALSE(stdfs::exists(r.state_dir / "spec.json"));
}

TEST_F(CommandTest, UnstartableSupervisorIsALaunchFailure) {
  auto broken = make_command_action({.supervisor_exe = "/nonexistent/beamflow",
                                     .kill_grace = std::chrono::milliseconds(300)});
  const auto r = fresh({{"argv", Strings{"true"}}});
  const ActionState s = broken->run(r);
  EXPECT_EQ(s.error, "Command.LaunchFailed");
  EXPECT_EQ(s.cause,
            "[command.launch_failed] cannot start the supervisor: No such file or directory "
            "(supervisor=/nonexistent/beamflow)");
  EXPECT_FALSE(stdfs::exists(r.state_dir / "started"));
  // Nothing ran, so a working engine may still launch it.
  EXPECT_EQ(drive(*command, r).status, ActionStatus::Succeeded);
}

// A process started as a supervisor that did not handle `__supervise` (a test
// binary without the dispatching main, say) must not launch commands itself:
// each launch would start another such process, without end.
TEST_F(CommandTest, ProcessMarkedAsSupervisorRefusesToLaunch) {
  ::setenv(kSupervisorMarker, "/somewhere", 1);
  const ActionState s = run_to_end({{"argv", Strings{"true"}}});
  ::unsetenv(kSupervisorMarker);
  ASSERT_EQ(s.status, ActionStatus::Failed);
  EXPECT_EQ(s.error, "Command.LaunchFailed");
  EXPECT_NE(s.cause.find("did not handle __supervise"), std::string::npos) << s.cause;
}

TEST_F(CommandTest, TheCommandDoesNotSeeTheSupervisorMarker) {
  const ActionState s = run_to_end(sh(std::string("echo \"[${") + kSupervisorMarker + "}]\""));
  ASSERT_EQ(s.status, ActionStatus::Succeeded) << s.cause;
  EXPECT_EQ(s.details["stdout"], "[]\n");
}

}  // namespace
}  // namespace beamflow::actions::testing
