// `beamflow resume` makes what it found durable before it acts on it: a
// journal written by a process killed before its sync (here: `run
// --no-fsync`) may be only in the page cache, and a machine crash after the
// resume acted on it could lose the run although its work was done. Seen
// through the fault-injection shim (tests/support/fault_shim.c), which fails
// the Nth sync under the runs directory and logs it: the journal's data, the
// run directory and the runs directory, in that order, and nothing else
// before the resume of an ended run answers.
#include <gtest/gtest.h>

#include <fstream>

#include "core/json.hpp"
#include "process.hpp"

namespace beamflow::test {
namespace {

namespace stdfs = std::filesystem;

Json object_of(const std::string& text) {
  const Json j = Json::parse(text, nullptr, false);
  return j.is_object() ? j : Json::object();
}

ProcessResult resume_with_failing_sync(const stdfs::path& dir, const stdfs::path& runs, int after,
                                       const stdfs::path& log) {
  ProcessOptions options;
  options.cwd = dir;
  options.env = {{"LD_PRELOAD", BEAMFLOW_FAULT_SHIM},
                 {"BF_FAULT_CALL", "sync"},
                 {"BF_FAULT_PATH", runs.string()},
                 {"BF_FAULT_AFTER", std::to_string(after)},
                 {"BF_FAULT_LOG", log.string()}};
  return run_process(beamflow_argv({"resume", "r1", "--runs-dir", runs.string(), "--json"}), options);
}

TEST(ResumeSync, AResumeSyncsTheJournalTheRunDirectoryAndTheRunsDirectoryBeforeItActs) {
  TempDir dir;
  std::ofstream(dir.path() / "flow.json") << R"({"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}})";
  const ProcessResult made =
      run_beamflow({"run", "flow.json", "--run-id", "r1", "--runs-dir", "runs", "--no-fsync", "--json"}, dir.path());
  ASSERT_EQ(made.exit_code, 0) << made.out << made.err;
  // The shim names descriptors by their real path (/proc/self/fd).
  const stdfs::path runs = stdfs::canonical(dir.path() / "runs");
  const std::vector<std::string> syncs = {"fdatasync " + (runs / "r1" / "journal").string(),
                                          "fsync " + (runs / "r1").string(), "fsync " + runs.string()};
  for (int after = 0; after < static_cast<int>(syncs.size()); ++after) {
    SCOPED_TRACE("sync #" + std::to_string(after + 1) + " fails");
    const stdfs::path log = dir.path() / ("faults-" + std::to_string(after));
    const ProcessResult r = resume_with_failing_sync(dir.path(), runs, after, log);
    EXPECT_NE(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(object_of(r.out).value("error", ""), "journal.io") << r.out << r.err;
    EXPECT_EQ(slurp(log), syncs[after] + "\n");
  }
  // Those three were every sync: with the fourth failing, the resume answers.
  const stdfs::path log = dir.path() / "faults-3";
  const ProcessResult r = resume_with_failing_sync(dir.path(), runs, 3, log);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(object_of(r.out).value("status", ""), "SUCCEEDED") << r.out;
  EXPECT_FALSE(stdfs::exists(log)) << slurp(log);
}

}  // namespace
}  // namespace beamflow::test
