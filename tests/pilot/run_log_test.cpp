// A run's log in a pilot (run_log.hpp): a running run's lines wait in memory
// until its last line or until the oldest is RunLogs::kHoldMs old, then are
// written in one go, in the order they came; flush_all() writes everything.
// No clock is waited on: flush() is given the time to decide at.
#include "pilot/run_log.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "../support/scratch_dir.hpp"
#include "core/time.hpp"

namespace beamflow::pilot {
namespace {

std::string read(const std::filesystem::path& file) {
  std::ifstream in(file);
  return {std::istreambuf_iterator<char>(in), {}};
}

// The lines of a log without their times.
std::string lines_of(const std::filesystem::path& file) {
  std::string out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) out += line.substr(line.find(' ') + 1) + "\n";
  return out;
}

TEST(RunLogs, ARunningRunsLinesWaitUntilItsLastLineOrTheHoldTime) {
  test::ScratchDir scratch;
  for (const char* run : {"r1", "r2", "r3"}) std::filesystem::create_directories(scratch.path() / run);
  RunLogs logs(scratch.path());
  const std::int64_t before = now_ms();
  logs.add("r1", "accepted");
  logs.add("r1", "placed");
  logs.add("r2", "accepted");
  logs.add("r3", "accepted");
  const std::int64_t after = now_ms();
  logs.flush(before);  // none is due: nothing is written
  for (const char* run : {"r1", "r2", "r3"})
    EXPECT_FALSE(std::filesystem::exists(RunLogs::file(scratch.path(), run))) << run;

  logs.add_last("r1", "ended SUCCEEDED");  // due at once, with what it held
  logs.flush(before);
  EXPECT_EQ(lines_of(RunLogs::file(scratch.path(), "r1")), "accepted\nplaced\nended SUCCEEDED\n");
  EXPECT_FALSE(std::filesystem::exists(RunLogs::file(scratch.path(), "r2")));

  logs.flush(after + RunLogs::kHoldMs);  // held long enough: written while the run goes on
  EXPECT_EQ(lines_of(RunLogs::file(scratch.path(), "r2")), "accepted\n");
  EXPECT_EQ(lines_of(RunLogs::file(scratch.path(), "r3")), "accepted\n");

  logs.add("r2", "done");
  logs.flush_all();  // a pilot's end: everything, due or not
  EXPECT_EQ(lines_of(RunLogs::file(scratch.path(), "r2")), "accepted\ndone\n");
  EXPECT_EQ(read(RunLogs::file(scratch.path(), "r1")).find("ended"), read(RunLogs::file(scratch.path(), "r1")).rfind("ended"));
}

// A run whose directory is not made yet keeps its lines, in order, for a
// flush after it exists.
TEST(RunLogs, ARunWithoutItsDirectoryYetKeepsItsLinesForALaterFlush) {
  test::ScratchDir scratch;
  RunLogs logs(scratch.path());
  logs.add_last("r1", "first");
  logs.flush();
  logs.add_last("r1", "second");
  std::filesystem::create_directories(scratch.path() / "r1");
  logs.flush();
  EXPECT_EQ(lines_of(RunLogs::file(scratch.path(), "r1")), "first\nsecond\n");
}

// The coordinator sleeps until next_due_ms(): a held line's hold end, now
// for a last line, and a run without its directory a hold later (not now:
// the coordinator would spin until the directory is made).
TEST(RunLogs, NextDueIsTheEarliestHoldEndNowForALastLineAndLaterForAMissingDirectory) {
  test::ScratchDir scratch;
  for (const char* run : {"r1", "r2"}) std::filesystem::create_directories(scratch.path() / run);
  RunLogs logs(scratch.path());
  EXPECT_EQ(logs.next_due_ms(), INT64_MAX);
  const std::int64_t before = now_ms();
  logs.add("r1", "placed");
  const std::int64_t after = now_ms();
  EXPECT_GE(logs.next_due_ms(), before + RunLogs::kHoldMs);
  EXPECT_LE(logs.next_due_ms(), after + RunLogs::kHoldMs);

  logs.add_last("r2", "ended SUCCEEDED");
  EXPECT_LE(logs.next_due_ms(), now_ms());
  logs.flush(after);  // r2 written; r1 still held, due as before
  EXPECT_EQ(lines_of(RunLogs::file(scratch.path(), "r2")), "ended SUCCEEDED\n");
  EXPECT_GE(logs.next_due_ms(), before + RunLogs::kHoldMs);
  EXPECT_LE(logs.next_due_ms(), after + RunLogs::kHoldMs);

  logs.flush(after + RunLogs::kHoldMs);
  EXPECT_EQ(lines_of(RunLogs::file(scratch.path(), "r1")), "placed\n");
  EXPECT_EQ(logs.next_due_ms(), INT64_MAX);

  logs.add_last("r3", "not driven");  // no directory
  const std::int64_t at = now_ms();
  logs.flush(at);
  EXPECT_EQ(logs.next_due_ms(), at + RunLogs::kHoldMs);
  logs.flush(at + RunLogs::kHoldMs - 1);  // not tried again before then
  EXPECT_EQ(logs.next_due_ms(), at + RunLogs::kHoldMs);
}

}  // namespace
}  // namespace beamflow::pilot
