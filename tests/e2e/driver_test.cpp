// The driver's executors and event sources (docs/architecture.md, "The
// driver"), end to end with the real binary: a 2-rank reconstruction runs as
// a supervised child process beside a `sleep` in a Parallel state, and the
// journal's times show the two progressing at once; killed with SIGKILL while
// the reconstruction runs, the engine resumes, re-attaches to it, and it ran
// exactly once (launches counted in a file by a wrapper around mpiexec).
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
    // Every launch of the reconstruction's ranks leaves a line in `launches`.
    const stdfs::path wrapper = dir.write("mpiexec-counting",
                                          "#!/bin/sh\necho $$ >> '" + (dir.path() / "launches").string() +
                                              "'\nexec mpiexec \"$@\"\n");
    ::chmod(wrapper.c_str(), 0755);
    setenv("BEAMFLOW_MPIEXEC", wrapper.c_str(), 1);
    unsetenv("BEAMFLOW_EXE");
    ProcessResult p = run_beamflow({"phantom", "--json", "--output", "p.h5", "--size", "96", "--angles", "90",
                                    "--rows", "8"},
                                   dir.path());
    ASSERT_EQ(p.exit_code, 0) << p.out << p.err;
    dir.write("flow.json", kFlow);
  }
  void TearDown() override { unsetenv("BEAMFLOW_MPIEXEC"); }

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

  int launches() const {
    const std::string text = slurp(dir.path() / "launches");
    return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  }

  TempDir dir;
};

TEST_F(DriverTest, ATwoRankReconstructionAndASleepProgressAtOnce) {
  input("in.json", 0.5);
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

}  // namespace
}  // namespace beamflow::test
