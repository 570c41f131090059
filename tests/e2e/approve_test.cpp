// Human in the loop: a run waits, without spending CPU, for `beamflow approve`
// or `beamflow reject` from another process; the decision and who made it
// land in the run's history.
#include <gtest/gtest.h>

#include <sys/resource.h>

#include <chrono>
#include <thread>

#include "core/json.hpp"
#include "process.hpp"

namespace beamflow::test {
namespace {

// Repeats `args` until it succeeds (the approval may not be pending yet).
ProcessResult until_ok(const std::vector<std::string>& args, const TempDir& dir) {
  ProcessResult r;
  for (int i = 0; i < 300; ++i) {
    r = run_beamflow(args, dir.path());
    if (r.exit_code == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return r;
}

TEST(Approve, ApprovalLetsTheRunContinueAndIsRecorded) {
  TempDir dir;
  dir.write("in.json", R"({"dataset": "tomo_0042"})");
  const std::string flow = source_dir() + "/configs/flows/approval.json";
  pid_t pid = spawn({"run", flow, "--input", "in.json", "--run-id", "appr", "--runs-dir", "runs", "--json"}, dir.path(), "appr");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ProcessResult a = until_ok({"approve", "appr", "--by", "alice", "--comment", "looks good", "--runs-dir", "runs"}, dir);
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  ASSERT_EQ(wait_exit(pid), 0) << slurp(dir.path() / "appr.err");
  const Json doc = Json::parse(slurp(dir.path() / "appr.out"));
  EXPECT_EQ(doc["output"]["published"], "tomo_0042");
  EXPECT_EQ(doc["output"]["approved_by"], "alice");
  const ProcessResult show = run_beamflow({"show", "appr", "--runs-dir", "runs"}, dir.path());
  EXPECT_NE(show.out.find("alice"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("looks good"), std::string::npos) << show.out;
}

TEST(Approve, RejectionIsCaughtWithItsReason) {
  TempDir dir;
  dir.write("in.json", R"({"dataset": "tomo_0043"})");
  const std::string flow = source_dir() + "/configs/flows/approval.json";
  pid_t pid = spawn({"run", flow, "--input", "in.json", "--run-id", "rej", "--runs-dir", "runs", "--json"}, dir.path(), "rej");
  ProcessResult r = until_ok({"reject", "rej", "--by", "bob", "--reason", "ring artefacts", "--runs-dir", "runs"}, dir);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ASSERT_EQ(wait_exit(pid), 0);
  const Json doc = Json::parse(slurp(dir.path() / "rej.out"));
  EXPECT_EQ(doc["output"]["published"], false);
  EXPECT_NE(doc["output"]["why"].get<std::string>().find("ring artefacts"), std::string::npos) << doc.dump();
  EXPECT_NE(doc["output"]["why"].get<std::string>().find("bob"), std::string::npos) << doc.dump();
}

TEST(Approve, WaitingSpendsAlmostNoCpu) {
  TempDir dir;
  dir.write("in.json", R"({"dataset": "d"})");
  const std::string flow = source_dir() + "/configs/flows/approval.json";
  pid_t pid = spawn({"run", flow, "--input", "in.json", "--run-id", "idle", "--runs-dir", "runs"}, dir.path(), "idle");
  std::this_thread::sleep_for(std::chrono::seconds(2));
  ProcessResult a = until_ok({"approve", "idle", "--runs-dir", "runs"}, dir);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  int status = 0;
  struct rusage ru {};
  wait4(pid, &status, 0, &ru);
  const double cpu = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  EXPECT_LT(cpu, 0.5) << "a waiting run should sleep, not spin";
}

TEST(Approve, NothingPendingIsAClearError) {
  TempDir dir;
  dir.write("f.json", R"({"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}})");
  ASSERT_EQ(run_beamflow({"run", "f.json", "--run-id", "done", "--runs-dir", "runs"}, dir.path()).exit_code, 0);
  ProcessResult r = run_beamflow({"approve", "done", "--runs-dir", "runs"}, dir.path());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_FALSE(r.err.empty());
}

}  // namespace
}  // namespace beamflow::test
