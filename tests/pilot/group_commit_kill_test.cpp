// Group commit under a kill: a one-process pilot whose many runs start and
// commit at once (their creations and journal commits sharing the pilot's
// SyncGroup flushes) is SIGKILLed while they do, and started again: every
// flow succeeds and each side effect happened exactly once (counted in the
// file the flows' commands append to), so no transition a run acted on was
// lost or acted on twice.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../support/process.hpp"
#include "../support/scratch_dir.hpp"
#include "core/json.hpp"

namespace beamflow::test {
namespace {

using namespace std::chrono_literals;

// echo, a command that appends the flow's tag to a file, echo: three
// commits before the side effect, two after.
const char* kFlow = R"({"StartAt": "Hello", "States": {
  "Hello": {"Type": "Task", "Resource": "echo", "Parameters": {"tag.$": "$.tag"}, "ResultPath": "$.hello", "Next": "Mark"},
  "Mark": {"Type": "Task", "Resource": "command", "Parameters": {"argv.$": "$.argv"}, "ResultPath": null, "Next": "Bye"},
  "Bye": {"Type": "Task", "Resource": "echo", "Parameters": {"tag.$": "$.tag"}, "End": true}}})";

std::map<std::string, int> count_lines(const std::filesystem::path& file) {
  std::map<std::string, int> seen;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) ++seen[line];
  return seen;
}

TEST(GroupCommit, APilotKilledWhileManyRunsCommitLosesNoTransition) {
  constexpr int kRuns = 48;
  ScratchDir scratch;
  const auto dir = scratch.path() / "pilot";
  const auto effects = scratch.path() / "effects.txt";
  const auto flow = scratch.write("flow.json", kFlow);
  std::ostringstream lines;
  for (int i = 0; i < kRuns; ++i) {
    const std::string tag = "g" + std::to_string(i);
    lines << Json{{"tag", tag}, {"argv", {"sh", "-c", "echo " + tag + " >> " + effects.string()}}}.dump() << "\n";
  }
  const auto batch = scratch.write("batch.jsonl", lines.str());
  // Handed over before the pilot starts: it then creates and starts all of
  // them at once (--max-runs above their number), so their commits meet.
  ProcessOptions quick;
  quick.timeout = 60s;
  const auto submitted = run_process({BEAMFLOW_BINARY, "submit", flow.string(), "--batch", batch.string(), "--pilot",
                                      dir.string(), "--json"},
                                     quick);
  ASSERT_EQ(submitted.exit_code, 0) << submitted.err;
  const Json handed = Json::parse(submitted.out);
  std::vector<std::string> run_ids;
  for (const auto& r : handed.at("runs")) run_ids.push_back(r.at("run_id").get<std::string>());
  ASSERT_EQ(run_ids.size(), static_cast<std::size_t>(kRuns));

  auto start = [&](int n) {
    ProcessOptions o;
    o.stderr_file = scratch.path() / ("pilot-" + std::to_string(n) + ".log");
    return Process::start({BEAMFLOW_BINARY, "pilot", "--dir", dir.string(), "--slots", "2", "--max-runs", "64"}, o);
  };
  {
    auto pilot = start(0);
    std::size_t done = 0;
    for (int i = 0; i < 3000 && done < kRuns / 6; ++i) {
      std::this_thread::sleep_for(5ms);
      done = count_lines(effects).size();
    }
    pilot.kill(SIGKILL);
    pilot.wait();
    std::cout << "killed with " << done << " of " << kRuns << " side effects done\n";
    EXPECT_LT(done, static_cast<std::size_t>(kRuns)) << "the kill came too late to test anything";
  }
  auto pilot = start(1);
  std::vector<std::string> wait = {BEAMFLOW_BINARY, "wait"};
  wait.insert(wait.end(), run_ids.begin(), run_ids.end());
  for (const std::string& a : {std::string("--pilot"), dir.string(), std::string("--json"), std::string("--timeout"),
                               std::string("150")})
    wait.push_back(a);
  ProcessOptions patient;
  patient.timeout = 180s;
  const auto waited = run_process(wait, patient);
  ASSERT_EQ(waited.exit_code, 0) << waited.out << waited.err;
  EXPECT_EQ(Json::parse(waited.out).at("succeeded").get<int>(), kRuns) << waited.out;
  const auto seen = count_lines(effects);
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kRuns));
  for (const auto& [tag, n] : seen) EXPECT_EQ(n, 1) << tag;

  // The restarted pilot drained: its log says the group served its runs.
  pilot.kill(SIGTERM);
  EXPECT_EQ(pilot.wait().exit_code, 0);
  std::ifstream log(scratch.path() / "pilot-1.log");
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("group commit: "), std::string::npos) << text;
}

}  // namespace
}  // namespace beamflow::test
