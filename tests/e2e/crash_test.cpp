// The crash test of issue 2: a flow appends a line to a file (command), sleeps,
// appends another. The engine is killed with SIGKILL at many points (and the
// resume itself is killed too, sometimes); after `beamflow resume` the file
// holds exactly the two lines, every time.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "core/json.hpp"
#include "process.hpp"

namespace beamflow::test {
namespace {

using Clock = std::chrono::steady_clock;

// Drives run `id` to completion with resumes (starting it again if it was
// killed before its directory existed); returns the final --json document.
Json finish(const TempDir& dir, const std::string& id, const std::vector<std::string>& run_args) {
  for (int i = 0; i < 20; ++i) {
    ProcessResult r = run_beamflow({"resume", id, "--runs-dir", "runs", "--json"}, dir.path());
    Json doc = Json::parse(r.out, nullptr, false);
    if (r.exit_code == 0 && !doc.is_discarded()) return doc;
    if (!doc.is_discarded() && doc.value("error", "") == "run.not_found") {
      r = run_beamflow(run_args, dir.path());
      doc = Json::parse(r.out, nullptr, false);
      if (r.exit_code == 0 && !doc.is_discarded()) return doc;
    }
    if (!doc.is_discarded() && doc.value("error", "") == "run.locked") {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    ADD_FAILURE() << "resume failed: exit " << r.exit_code << "\nstdout: " << r.out << "\nstderr: " << r.err;
    return doc;
  }
  ADD_FAILURE() << "run " << id << " never finished";
  return {};
}

TEST(Crash, KilledAtManyPointsResumesWithEachCommandRunExactlyOnce) {
  TempDir dir;
  const std::string flow = source_dir() + "/configs/flows/append_twice.json";

  // One uninterrupted run tells how long the flow takes here.
  const auto lines_file = dir.path() / "lines-ref.txt";
  dir.write("in-ref.json", Json{{"file", lines_file.string()}, {"pause", 0.3}}.dump());
  const auto t0 = Clock::now();
  ProcessResult ref = run_beamflow({"run", flow, "--input", "in-ref.json", "--runs-dir", "runs", "--json"}, dir.path());
  const double total_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  ASSERT_EQ(ref.exit_code, 0) << ref.out << ref.err;
  ASSERT_EQ(slurp(lines_file), "first\nsecond\n");
  const Json ref_doc = Json::parse(ref.out);

  const int points = 24;
  for (int i = 0; i < points; ++i) {
    const std::string id = "crash" + std::to_string(i);
    const auto file = dir.path() / (id + ".txt");
    const std::string input = id + ".json";
    dir.write(input, Json{{"file", file.string()}, {"pause", 0.3}}.dump());
    const std::vector<std::string> run_args{"run", flow, "--input", input, "--run-id", id, "--runs-dir", "runs", "--json"};
    // Kill points spread over the whole run, denser at the start where the
    // command is launched.
    const double frac = static_cast<double>(i) / points;
    const auto delay = std::chrono::microseconds(static_cast<long>(frac * frac * total_ms * 1000.0 * 1.1));
    pid_t pid = spawn(run_args, dir.path(), id);
    std::this_thread::sleep_for(delay);
    kill(pid, SIGKILL);
    wait_exit(pid);
    if (i % 3 == 1) {
      // Kill the first resume as well, a little later.
      pid_t again = spawn({"resume", id, "--runs-dir", "runs", "--json"}, dir.path(), id + "-resume");
      std::this_thread::sleep_for(std::chrono::milliseconds(20 + 15 * i));
      kill(again, SIGKILL);
      wait_exit(again);
    }
    const Json doc = finish(dir, id, run_args);
    EXPECT_EQ(doc.value("status", ""), "SUCCEEDED") << "kill point " << i << ": " << doc.dump();
    EXPECT_EQ(slurp(file), "first\nsecond\n") << "kill point " << i << " (after " << delay.count() << " us)";
    // The output equals an uninterrupted run's, up to the input file name.
    ASSERT_TRUE(doc.contains("output")) << doc.dump();
    EXPECT_EQ(doc["output"]["second"], ref_doc["output"]["second"]);
    EXPECT_EQ(doc["output"]["first"]["exit_code"], 0);
  }
}

}  // namespace
}  // namespace beamflow::test
