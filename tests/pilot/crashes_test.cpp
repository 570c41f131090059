// The crash ledger (engine/pilot/crashes.hpp) with real processes: a mark
// left by a process that died names the task it was executing; one that
// left the task first leaves none; counts survive a reload, count once per
// incarnation, and reach the limit.
#include <gtest/gtest.h>

#include <cstdlib>

#include "../support/process.hpp"
#include "../support/scratch_dir.hpp"
#include "pilot/crashes.hpp"

namespace beamflow::test {
namespace {

using pilot::CrashCounts;
using pilot::ExecutingMark;

TEST(PilotCrashes, AProcessThatDiesInsideATaskLeavesItsMark) {
  ScratchDir dir;
  const int died = run_in_child([&] {
    ExecutingMark mark(dir.path(), 3, "node7");
    mark.enter("k1", "run-1", "abort");
    std::abort();
    return 0;
  });
  EXPECT_EQ(died, 128 + SIGABRT);
  const auto marks = pilot::take_marks(dir.path());
  ASSERT_EQ(marks.size(), 1u);
  EXPECT_EQ(marks[0].key, "k1");
  EXPECT_EQ(marks[0].run_id, "run-1");
  EXPECT_EQ(marks[0].action, "abort");
  EXPECT_EQ(marks[0].host, "node7");
  EXPECT_EQ(marks[0].rank, 3);
  EXPECT_TRUE(pilot::take_marks(dir.path()).empty()) << "a mark is cleared once read";
}

TEST(PilotCrashes, AProcessKilledBetweenTasksLeavesNoMark) {
  ScratchDir dir;
  const int died = run_in_child([&] {
    ExecutingMark mark(dir.path(), 1, "node1");
    for (int i = 0; i < 3; ++i) {
      mark.enter("task-" + std::to_string(i), "run-1", "echo");
      const ExecutingMark::Guard left(&mark);
    }
    ::raise(SIGKILL);
    return 0;
  });
  EXPECT_EQ(died, 128 + SIGKILL);
  EXPECT_TRUE(pilot::take_marks(dir.path()).empty());
  EXPECT_FALSE(pilot::read_mark(dir.path(), 1).has_value());
}

TEST(PilotCrashes, CountsAreKeptOncePerIncarnationAndReachTheLimit) {
  ScratchDir dir;
  const pilot::Executing x{"k1", "run-1", "abort", "node1", 1};
  {
    CrashCounts c(dir.path(), 2);
    EXPECT_EQ(c.count(x), 1);
    EXPECT_EQ(c.count(x), 1) << "one incarnation counts a task once";
    EXPECT_FALSE(c.exhausted("k1"));
  }
  CrashCounts again(dir.path(), 2);  // the next incarnation reads the file
  EXPECT_EQ(again.count_of("k1"), 1);
  EXPECT_EQ(again.count(x), 2);
  const auto why = again.exhausted("k1");
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("2 times"), std::string::npos) << *why;
  EXPECT_NE(why->find("rank 1 on node1"), std::string::npos) << *why;
  EXPECT_NE(why->find("--max-task-crashes 2"), std::string::npos) << *why;
  EXPECT_FALSE(again.exhausted("other"));
  EXPECT_FALSE(CrashCounts(dir.path(), 0).exhausted("k1")) << "0: never failed for crashes";
  EXPECT_FALSE(CrashCounts(dir.path(), 3).exhausted("k1"));
}

}  // namespace
}  // namespace beamflow::test
