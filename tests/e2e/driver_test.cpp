// The driver's executors and event sources (docs/architecture.md, "The
// driver"), end to end with the real binary: a 2-rank reconstruction runs as
// a supervised child process beside a `sleep` in a Parallel state, and the
// journal's times show the two progressing at once; killed with SIGKILL while
// the reconstruction runs, the engine resumes, re-attaches to it, and it ran
// exactly once (launches counted in a file by a wrapper around mpiexec).
// No action blocks the driver: a 1-rank find_center, a preview and a
// transfer each run as a child process beside a `sleep`, and a cancel (a
// Parallel branch failing while a command that ignores SIGTERM runs) does not
// hold the loop: the outcome comes from the supervisor later.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "core/json.hpp"
#include "process.hpp"

namespace beamflow::test {
namespace {

namespace stdfs = std::filesystem;

const char* kFlow = R"({
  "StartAt": "Both",
  "States": {
    "Both": {
      "Type": "Parallel", "End": true,
      "Branches": [
        {"StartAt": "Recon", "States": {"Recon": {"Type": "Task", "Resource": "reconstruct", "End": true,
          "Parameters": {"input.$": "$.data", "output.$": "$.volume", "center": 47.5, "ranks": 2}}}},
        {"StartAt": "Nap", "States": {"Nap": {"Type": "Task", "Resource": "sleep", "End": true,
          "Parameters": {"seconds.$": "$.nap"}}}}
      ]
    }
  }
})";

class DriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 1);
    // Every launch of the reconstruction's ranks leaves a line in `launches`,
    // and waits LAUNCH_DELAY seconds first where a test sets it.
    const stdfs::path wrapper =
        dir.write("mpiexec-counting", "#!/bin/sh\necho $$ >> '" + (dir.path() / "launches").string() +
                                          "'\n[ -n \"$LAUNCH_DELAY\" ] && sleep \"$LAUNCH_DELAY\"\nexec mpiexec \"$@\"\n");
    ::chmod(wrapper.c_str(), 0755);
    setenv("BEAMFLOW_MPIEXEC", wrapper.c_str(), 1);
    unsetenv("BEAMFLOW_EXE");
    ProcessResult p = run_beamflow({"phantom", "--json", "--output", "p.h5", "--size", "96", "--angles", "90",
                                    "--rows", "8"},
                                   dir.path());
    ASSERT_EQ(p.exit_code, 0) << p.out << p.err;
    dir.write("flow.json", kFlow);
  }
  void TearDown() override {
    unsetenv("BEAMFLOW_MPIEXEC");
    unsetenv("LAUNCH_DELAY");
  }

  void input(const std::string& name, double nap) const {
    dir.write(name, Json{{"data", "p.h5"}, {"volume", name + ".recon.h5"}, {"nap", nap}}.dump());
  }

  // The journal's history, keyed "TYPE frame-state" -> time (ms).
  Json history(const std::string& id) const {
    ProcessResult r = run_beamflow({"show", id, "--runs-dir", "runs", "--json"}, dir.path());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return Json::parse(r.out)["history"];
  }

  static std::int64_t time_of(const Json& history, const std::string& type, const std::string& resource_or_action) {
    std::string frame;
    for (const auto& e : history)
      if (e["type"] == "TaskScheduled" && e.value("r", "") == resource_or_action) frame = e["f"];
    for (const auto& e : history)
      if (e["type"] == type && e.value("f", "") == frame) return e.value("t", std::int64_t{-1});
    ADD_FAILURE() << "no " << type << " for " << resource_or_action;
    return -1;
  }

  // Runs `flow` (a Parallel of a task and a sleep) with `in` and returns the
  // journal's history.
  Json run_flow(const std::string& id, const std::string& flow, const Json& in) {
    dir.write(id + ".flow.json", flow);
    dir.write(id + ".in.json", in.dump());
    ProcessResult r = run_beamflow({"run", id + ".flow.json", "--input", id + ".in.json", "--run-id", id,
                                    "--runs-dir", "runs", "--json"},
                                   dir.path());
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    return history(id);
  }

  // The task `resource` and a sleep started together, and the sleep's end was
  // recorded while the task still ran: a driver blocked in the task would
  // have seen the sleep end only after it.
  static void expect_overlap(const Json& h, const std::string& resource) {
    const std::int64_t start = time_of(h, "TaskScheduled", resource);
    const std::int64_t end = time_of(h, "TaskSucceeded", resource);
    const std::int64_t nap_start = time_of(h, "TaskScheduled", "sleep");
    const std::int64_t nap_end = time_of(h, "TaskSucceeded", "sleep");
    std::cout << resource << " " << start << " .. " << end << " (" << end - start << " ms), sleep " << nap_start
              << " .. " << nap_end << " (" << nap_end - nap_start << " ms)\n";
    EXPECT_LE(nap_start, start + 50);
    EXPECT_LT(nap_end, end) << "the sleep's end was recorded after the " << resource << "'s";
  }

  int launches() const {
    const std::string text = slurp(dir.path() / "launches");
    return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  }

  TempDir dir;
};

TEST_F(DriverTest, ATwoRankReconstructionAndASleepProgressAtOnce) {
  input("in.json", 0.5);
  // The task must outlast the nap on any machine: this small volume's 2-rank
  // reconstruction, start included, ran in 0.38 s in CI once MPI_Init got
  // faster (f6aff57), and the sleep then ended after it. A second's wait in
  // the launch is part of the task the driver must not block on.
  setenv("LAUNCH_DELAY", "1", 1);
  const auto t0 = std::chrono::steady_clock::now();
  ProcessResult r = run_beamflow({"run", "flow.json", "--input", "in.json", "--run-id", "both", "--runs-dir",
                                  "runs", "--json"},
                                 dir.path());
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const Json doc = Json::parse(r.out);
  EXPECT_EQ(doc["output"][0]["ranks"], 2) << doc.dump();
  EXPECT_EQ(launches(), 1);

  const Json h = history("both");
  const std::int64_t recon_start = time_of(h, "TaskScheduled", "reconstruct");
  const std::int64_t recon_end = time_of(h, "TaskSucceeded", "reconstruct");
  const std::int64_t nap_start = time_of(h, "TaskScheduled", "sleep");
  const std::int64_t nap_end = time_of(h, "TaskSucceeded", "sleep");
  std::cout << "reconstruct " << recon_start << " .. " << recon_end << " (" << recon_end - recon_start
            << " ms), sleep " << nap_start << " .. " << nap_end << " (" << nap_end - nap_start << " ms), run "
            << wall << " s\n";
  // Both started together, and the sleep's end was recorded while the
  // reconstruction still ran: a driver blocked in the reconstruction would
  // have seen the sleep end only after it.
  EXPECT_LE(nap_start, recon_start + 50);
  EXPECT_LT(nap_start, recon_end);
  EXPECT_LT(nap_end, recon_end) << "the sleep's end was recorded after the reconstruction's";
  EXPECT_GE(nap_end - nap_start, 500);
}

TEST_F(DriverTest, KilledWhileTheReconstructionRunsItIsReattachedAndRunOnce) {
  input("in.json", 0.1);
  const pid_t engine = spawn({"run", "flow.json", "--input", "in.json", "--run-id", "crash", "--runs-dir", "runs",
                              "--json"},
                             dir.path(), "crash");
  // Wait for the supervisor's `started` marker of the reconstruction.
  const stdfs::path actions = dir.path() / "runs" / "crash" / "actions";
  stdfs::path state;
  for (int i = 0; i < 600 && state.empty(); ++i) {
    std::error_code ec;
    for (stdfs::directory_iterator it(actions, ec), end; !ec && it != end; it.increment(ec))
      if (stdfs::exists(it->path() / "request.json") && stdfs::exists(it->path() / "started")) state = it->path();
    if (state.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_FALSE(state.empty()) << slurp(dir.path() / "crash.err");
  ::kill(engine, SIGKILL);
  wait_exit(engine);
  const bool finished_before_resume = stdfs::exists(state / "result.json");

  ProcessResult r = run_beamflow({"resume", "crash", "--runs-dir", "runs", "--json"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const Json doc = Json::parse(r.out);
  EXPECT_EQ(doc["status"], "SUCCEEDED") << doc.dump();
  EXPECT_EQ(doc["output"][0]["ranks"], 2) << doc.dump();
  std::cout << "the reconstruction had " << (finished_before_resume ? "" : "not ") << "finished when resumed\n";
  // Exactly one launch of the ranks, one `started` marker, one outcome.
  EXPECT_EQ(launches(), 1);
  EXPECT_TRUE(stdfs::exists(state / "result.json"));
  const Json h = history("crash");
  int scheduled = 0;
  for (const auto& e : h)
    if (e["type"] == "TaskScheduled" && e.value("r", "") == "reconstruct") ++scheduled;
  EXPECT_EQ(scheduled, 1);
}

// The sleep must be much shorter than the task beside it: a one-rank
// find_center on the fixture's phantom takes ~50 ms whole-process since the
// fast start, and the check is that the sleep's end is recorded before the
// task's (the loop was not blocked by it).
std::string beside_a_sleep(const std::string& task) {
  return R"({"StartAt": "Both", "States": {"Both": {"Type": "Parallel", "End": true, "Branches": [
    {"StartAt": "Work", "States": {"Work": )" + task + R"(}},
    {"StartAt": "Nap", "States": {"Nap": {"Type": "Task", "Resource": "sleep", "End": true,
      "Parameters": {"seconds": 0.01}}}}]}}})";
}

TEST_F(DriverTest, AOneRankFindCenterAndPreviewRunBesideASleep) {
  Json h = run_flow("fc", beside_a_sleep(R"({"Type": "Task", "Resource": "find_center", "End": true,
      "Parameters": {"input": "p.h5"}})"), Json::object());
  expect_overlap(h, "find_center");
  ASSERT_EQ(run_beamflow({"recon", "--input", "p.h5", "--output", "v.h5", "--center", "47.5"}, dir.path()).exit_code,
            0);
  h = run_flow("pv", beside_a_sleep(R"({"Type": "Task", "Resource": "preview", "End": true,
      "Parameters": {"input": "v.h5", "output": "pv"}})"), Json::object());
  expect_overlap(h, "preview");
  EXPECT_EQ(launches(), 0);  // one rank: no mpiexec
}

TEST_F(DriverTest, ATransferRunsBesideASleep) {
  stdfs::create_directories(dir.path() / "src");
  stdfs::create_directories(dir.path() / "dst");
  dir.write("src/big", std::string(64 << 20, 'x'));
  dir.write("endpoints.json",
            Json{{"endpoints",
                  {{{"name", "a"}, {"path", (dir.path() / "src").string()}},
                   {{"name", "b"}, {"path", (dir.path() / "dst").string()}, {"write", true}}}}}
                .dump());
  const Json h = run_flow("tr", beside_a_sleep(R"({"Type": "Task", "Resource": "transfer", "End": true,
      "Parameters": {"endpoints": "endpoints.json", "source_endpoint": "a", "destination_endpoint": "b",
                     "transfer_items": [{"source_path": "big", "destination_path": "big"}]}})"),
                         Json::object());
  expect_overlap(h, "transfer");
  EXPECT_EQ(slurp(dir.path() / "dst/big").size(), std::size_t{64} << 20);
}

// A Parallel branch fails while a command that ignores SIGTERM runs in the
// other: the command is cancelled (its supervisor waits its kill grace, 5 s,
// before SIGKILL) while the outer Parallel's second branch goes on. A driver
// that waited for the cancelled command would record that branch's second
// sleep seconds late.
TEST_F(DriverTest, ACancelDoesNotHoldTheOtherBranch) {
  const char* flow = R"({"StartAt": "Outer", "States": {"Outer": {"Type": "Parallel", "End": true, "Branches": [
    {"StartAt": "Inner", "States": {"Inner": {"Type": "Parallel", "Next": "Caught",
       "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "Branches": [
         {"StartAt": "Stubborn", "States": {"Stubborn": {"Type": "Task", "Resource": "command", "End": true,
            "Parameters": {"argv": ["sh", "-c", "trap '' TERM; sleep 30"]}}}},
         {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 1, "Next": "Boom"},
            "Boom": {"Type": "Fail", "Error": "Boom"}}}]},
       "Caught": {"Type": "Pass", "End": true}}},
    {"StartAt": "Nap1", "States": {"Nap1": {"Type": "Task", "Resource": "sleep", "Next": "Nap2",
       "Parameters": {"seconds": 1.2}},
       "Nap2": {"Type": "Task", "Resource": "sleep", "End": true, "Parameters": {"seconds": 0.5}}}}]}}})";
  const auto t0 = std::chrono::steady_clock::now();
  const Json h = run_flow("cancel", flow, Json::object());
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Nap1 and Nap2 are the sleeps scheduled first and second; each ends at the
  // next TaskSucceeded of its frame.
  std::int64_t cancelled = -1, nap1_start = -1, nap1_end = -1, nap2_start = -1, nap2_end = -1;
  std::string nap2;
  int sleeps = 0;
  std::int64_t last = -1;  // FrameCancelled has no time: the record before it
  for (const auto& e : h) {
    const std::int64_t t = e.value("t", std::int64_t{-1});
    if (e["type"] == "FrameCancelled" && cancelled < 0) cancelled = last;
    if (t >= 0) last = t;
    if (e["type"] == "TaskScheduled" && e.value("r", "") == "sleep" && ++sleeps <= 2) {
      nap2 = e["f"];
      nap2_start = t;
      if (sleeps == 1) nap1_start = t;
    } else if (sleeps == 1 && nap1_end < 0 && e["type"] == "TaskSucceeded" && e.value("f", "") == nap2) {
      nap1_end = t;
    } else if (sleeps == 2 && nap2_end < 0 && e["type"] == "TaskSucceeded" && e.value("f", "") == nap2) {
      nap2_end = t;
    }
  }
  std::cout << "cancelled at " << cancelled << ", Nap1 " << nap1_start << " .. " << nap1_end << " ("
            << nap1_end - nap1_start << " ms), Nap2 " << nap2_start << " .. " << nap2_end << " ("
            << nap2_end - nap2_start << " ms), run " << wall << " s\n";
  ASSERT_GE(cancelled, 0) << h.dump();
  ASSERT_GE(nap2_start, 0) << h.dump();
  ASSERT_GE(nap2_end, 0) << h.dump();
  // Nap1 (1.2 s) ends 0.2 s after the cancel (at 1 s) and is recorded in
  // time, not after the command's 5 s kill grace; so is Nap2 after it.
  ASSERT_GE(nap1_end, 0) << h.dump();
  EXPECT_LT(cancelled, nap1_end);
  EXPECT_LT(nap1_end - nap1_start, 2000) << "the cancel held the loop";
  EXPECT_LT(cancelled, nap2_start);
  EXPECT_LT(nap2_end - nap2_start, 1500);
  EXPECT_LT(wall, 4.5);
}

}  // namespace
}  // namespace beamflow::test
