// Issue 9, section 5: what `command` hands to the operating system is refused
// when a C string or an environment entry could not carry it faithfully (NUL
// in argv, cwd or env; an env name that is empty or holds '='), never
// silently altered; and the files the supervisor writes are owner-only
// whatever the umask.
#include <sys/stat.h>

#include "command_fixture.hpp"

namespace beamflow::actions::testing {
namespace {

TEST_F(CommandTest, RefusesWhatExecCannotCarry) {
  auto cause = [&](Json input) {
    const auto r = fresh(std::move(input));
    const ActionState s = command->run(r);
    EXPECT_EQ(s.error, "Action.InvalidInput");
    EXPECT_FALSE(stdfs::exists(r.state_dir / "spec.json")) << "nothing may be launched";
    return s.cause;
  };
  const std::string nul("a\0b", 3);
  EXPECT_EQ(cause({{"argv", {"echo", nul}}}), "command: input.argv[1] must not contain a NUL character");
  EXPECT_EQ(cause({{"argv", {"echo"}}, {"env", {{"", "x"}}}}), "command: input.env must not have an empty variable name");
  EXPECT_EQ(cause({{"argv", {"echo"}}, {"env", {{"A=B", "x"}}}}),
            "command: input.env variable name 'A=B' must not contain '=' or a NUL character");
  EXPECT_EQ(cause({{"argv", {"echo"}}, {"env", {{nul, "x"}}}}),
            "command: input.env variable name 'a\\0b' must not contain '=' or a NUL character");
  EXPECT_EQ(cause({{"argv", {"echo"}}, {"env", {{"A", nul}}}}), "command: input.env.A must not contain a NUL character");
  EXPECT_EQ(cause({{"argv", {"echo"}}, {"cwd", nul}}), "command: input.cwd must not contain a NUL character");
  // An '=' in a value is fine: only the name ends at the first '='.
  const ActionState ok = run_to_end({{"argv", {"sh", "-c", "printf %s \"$A\""}}, {"env", {{"A", "x=y"}}}});
  ASSERT_EQ(ok.status, ActionStatus::Succeeded) << ok.cause;
  EXPECT_EQ(ok.details["stdout"], "x=y");
}

TEST_F(CommandTest, SupervisorFilesAreOwnerOnlyWhateverTheUmask) {
  const mode_t old = ::umask(0);
  const auto r = fresh({{"argv", {"sh", "-c", "echo secret; echo err >&2"}}, {"env", {{"TOKEN", "s3cr3t"}}}});
  const ActionState s = drive(*command, r);
  ::umask(old);
  ASSERT_EQ(s.status, ActionStatus::Succeeded) << s.cause;
  for (const char* name : {"spec.json", "started", "stdout", "stderr", "result.json", "lock"}) {
    struct stat st {};
    ASSERT_EQ(::stat((r.state_dir / name).c_str(), &st), 0) << name;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << name;
  }
}

}  // namespace
}  // namespace beamflow::actions::testing
