// Pilot.TaskCrashed end to end (issue 10): a task that takes its worker rank
// or the whole pilot down is counted (engine/pilot/crashes.hpp) and, after
// --max-task-crashes such crashes, failed instead of crash-looping across
// restarts, while the pilot, started again by the test as pilot.sbatch
// would, runs every other flow with each side effect once. A drain with a
// task in flight counts nothing.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "pilot_fixture.hpp"

namespace beamflow::test {
namespace {

// A task that aborts the process it runs in, alone or caught.
const char* kBoom = R"({"StartAt": "Boom", "States": {
  "Boom": {"Type": "Task", "Resource": "abort", "End": true}}})";
const char* kCaught = R"({"StartAt": "Boom", "States": {
  "Boom": {"Type": "Task", "Resource": "abort", "Next": "Never",
           "Catch": [{"ErrorEquals": ["Pilot.TaskCrashed"], "ResultPath": "$.crash", "Next": "Recovered"}]},
  "Never": {"Type": "Fail", "Error": "Test.NotCaught"},
  "Recovered": {"Type": "Task", "Resource": "command", "Parameters": {"argv.$": "$.argv"}, "End": true}}})";

// A task stuck in its code (its worker thread never returns).
const char* kHang = R"({"StartAt": "Stuck", "States": {
  "Stuck": {"Type": "Task", "Resource": "abort", "Parameters": {"hang": true}, "End": true}}})";

// Whether the child `pid` has ended (a zombie until it is waited for).
bool has_ended(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  const auto close = line.rfind(')');
  return close == std::string::npos || line.substr(close + 2, 1) == "Z";
}

class PilotCrash : public Pilot {
 protected:
  std::string submit_flow(const std::string& id, const char* definition, const Json& input = Json::object()) {
    const fsys::path flow = m_scratch.path() / (id + "-flow.json");
    const fsys::path in = m_scratch.path() / (id + "-input.json");
    write(flow, definition);
    write(in, input.dump());
    const auto r = run_process({kBinary, "submit", flow.string(), "--input", in.string(), "--pilot", m_dir.string(),
                                "--id", id, "--json"},
                               within(60s));
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    return r.exit_code == 0 ? Json::parse(r.out).at("run_id").get<std::string>() : std::string();
  }

  Json summary(const std::string& run_id) {
    const auto r = run_process({kBinary, "status", run_id, "--pilot", m_dir.string(), "--json"}, within(30s));
    return r.exit_code == 0 ? Json::parse(r.out) : Json::object();
  }

  bool all_ended(const std::vector<std::string>& ids) {
    for (const auto& id : ids) {
      const std::string s = summary(id).value("status", "");
      if (s != "SUCCEEDED" && s != "FAILED") return false;
    }
    return true;
  }

  // Starts the pilot, and again whenever it dies (as pilot.sbatch does),
  // until every run of `ids` has ended; returns how each start that died
  // ended (its exit code), and leaves the last start running in `alive`.
  std::vector<ProcessResult> restart_until_ended(const std::vector<std::string>& ids,
                                                 const std::vector<std::string>& launcher,
                                                 std::optional<PilotProcess>& alive) {
    std::vector<ProcessResult> deaths;
    const auto give_up = std::chrono::steady_clock::now() + 240s;
    while (std::chrono::steady_clock::now() < give_up && deaths.size() < 8) {
      alive.emplace(start_pilot(launcher, 2, {"--max-task-crashes", "2"}));
      while (std::chrono::steady_clock::now() < give_up) {
        std::this_thread::sleep_for(200ms);
        if (has_ended(alive->pid())) break;
        if (all_ended(ids)) return deaths;
      }
      deaths.push_back(alive->wait());
      alive.reset();
    }
    ADD_FAILURE() << "the runs did not all end: " << deaths.size() << " pilot deaths";
    return deaths;
  }

  Json crash_counts() const {
    std::ifstream in(m_dir / "pilot" / "crashes.json");
    if (!in) return Json::object();
    return Json::parse(in);
  }

  std::string log_of(const std::string& run_id) const {
    std::ifstream in(m_dir / "runs" / run_id / "log");
    return {std::istreambuf_iterator<char>(in), {}};
  }

  // The run's log once it holds `text`, or as it is after `limit`. The
  // journal is the truth and the log follows it (RunLogs writes a run's
  // lines at the coordinator's next flush), so a status can be ahead of it.
  std::string log_once_it_has(const std::string& run_id, const std::string& text,
                              std::chrono::seconds limit) const {
    const auto give_up = std::chrono::steady_clock::now() + limit;
    std::string log = log_of(run_id);
    for (; log.find(text) == std::string::npos && std::chrono::steady_clock::now() < give_up; log = log_of(run_id))
      std::this_thread::sleep_for(50ms);
    return log;
  }

  void expect_crashed_out(const std::string& run_id) {
    const Json s = summary(run_id);
    EXPECT_EQ(s.value("status", ""), "FAILED") << s.dump();
    EXPECT_EQ(s["error"].value("error", ""), "Pilot.TaskCrashed") << s.dump();
    EXPECT_NE(s["error"].value("cause", "").find("down 2 times"), std::string::npos) << s.dump();
    // The status can say FAILED before the log has its last lines.
    const std::string log = log_once_it_has(run_id, "Pilot.TaskCrashed", 30s);
    EXPECT_NE(log.find("crash 1 (limit 2)"), std::string::npos) << log;
    EXPECT_NE(log.find("crash 2 (limit 2)"), std::string::npos) << log;
    EXPECT_NE(log.find("Pilot.TaskCrashed"), std::string::npos) << log;
  }
};

// One process: the abort takes the whole pilot (coordinator and worker
// threads) down. Each aborting task crashes it twice and is then failed;
// the caught one routes its flow on; the other flows run once each.
TEST_F(PilotCrash, AOneProcessPilotStopsATaskThatKeepsCrashingItAndRunsTheRestOnce) {
  const std::string boom = submit_flow("boom", kBoom);
  const std::string caught =
      submit_flow("caught", kCaught, {{"argv", {"sh", "-c", "echo caught >> " + m_effects.string()}}});
  std::map<std::string, std::string> others;
  for (int i = 0; i < 6; ++i) others["ok-" + std::to_string(i)] = submit("ok-" + std::to_string(i));
  std::vector<std::string> ids = {boom, caught};
  for (const auto& [tag, id] : others) ids.push_back(id);

  std::optional<PilotProcess> pilot;
  const auto deaths = restart_until_ended(ids, {}, pilot);
  ASSERT_TRUE(pilot) << "the last pilot stays up";
  EXPECT_GE(deaths.size(), 2u);
  EXPECT_LE(deaths.size(), 4u);
  for (const auto& d : deaths) EXPECT_EQ(d.signal, SIGABRT) << d.err;

  expect_crashed_out(boom);
  EXPECT_EQ(summary(caught).value("status", ""), "SUCCEEDED") << summary(caught).dump();
  others["caught"] = caught;
  expect_all_succeeded(others);
  expect_each_side_effect_once(others);
  const Json counts = crash_counts();
  int at_limit = 0;
  for (const auto& [key, c] : counts.items()) at_limit += c["action"] == "abort" && c["count"] == 2;
  EXPECT_EQ(at_limit, 2) << counts.dump(2);

  // A drain counts nothing; the next start counts nothing more either.
  pilot->process.kill(SIGTERM);
  EXPECT_EQ(pilot->wait().exit_code, 0);
  auto again = start_pilot({}, 2, {"--max-task-crashes", "2"});
  EXPECT_EQ(wait(submit("after")).exit_code, 0);
  EXPECT_EQ(crash_counts(), counts);
}

// Under mpirun the abort takes one worker rank down, and mpirun the job.
TEST_F(PilotCrash, AnMpirunPilotStopsATaskThatKeepsKillingAWorkerRank) {
  const std::string boom = submit_flow("boom", kBoom);
  std::map<std::string, std::string> others;
  for (int i = 0; i < 4; ++i) others["ok-" + std::to_string(i)] = submit("ok-" + std::to_string(i));
  std::vector<std::string> ids = {boom};
  for (const auto& [tag, id] : others) ids.push_back(id);

  std::optional<PilotProcess> pilot;
  const auto deaths =
      restart_until_ended(ids, {"mpirun", "-np", "3", "--oversubscribe", "--bind-to", "none"}, pilot);
  ASSERT_TRUE(pilot) << "the last pilot stays up";
  EXPECT_EQ(deaths.size(), 2u);
  for (const auto& d : deaths) EXPECT_NE(d.exit_code, 0);
  expect_crashed_out(boom);
  const std::string log = log_of(boom);
  // A worker rank (1 or 2, whichever was free), never the coordinator.
  EXPECT_TRUE(std::regex_search(log, std::regex(R"(abort\): rank [12] on)"))) << log;
  EXPECT_EQ(log.find("abort): rank 0 on"), std::string::npos) << log;
  expect_all_succeeded(others);
  expect_each_side_effect_once(others);
}

// A task that hangs its worker rank: the rank falls silent, is lost by
// heartbeat (Scheduler::kLostAfterMs), and the task its mark names counts
// one crash; at --max-task-crashes 1 it is failed there and then instead of
// going to the next rank. The other worker still runs flows.
TEST_F(PilotCrash, ATaskThatHangsItsRankIsCountedWhenTheRankIsLost) {
  auto pilot = start_pilot({}, 2, {"--max-task-crashes", "1"});
  const std::string id = submit_flow("stuck", kHang);
  const auto r = wait(id, 90s);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const Json s = summary(id);
  EXPECT_EQ(s["error"].value("error", ""), "Pilot.TaskCrashed") << s.dump();
  EXPECT_NE(s["error"].value("cause", "").find("down 1 times"), std::string::npos) << s.dump();
  const std::string log = log_of(id);
  EXPECT_NE(log.find("lost Stuck task "), std::string::npos) << log;
  EXPECT_NE(log.find("when it fell silent (limit 1)"), std::string::npos) << log;
  EXPECT_EQ(log.find("placed Stuck (abort) task ", log.find("lost Stuck")), std::string::npos)
      << "placed again after it was counted:\n" << log;
  const Json counts = crash_counts();
  ASSERT_EQ(counts.size(), 1u) << counts.dump();
  EXPECT_EQ(counts.begin()->at("count"), 1);
  const std::string after = submit("after");
  EXPECT_EQ(wait(after, 60s).exit_code, 0);
  expect_each_side_effect_once({{"after", after}});
}

// SIGTERM drains while a command runs: the next pilot re-attaches to it and
// nothing is counted as a crash.
TEST_F(PilotCrash, ADrainWithATaskInFlightCountsNoCrash) {
  auto pilot = start_pilot({}, 2, {"--max-task-crashes", "1"});
  const std::string id = submit("slow", 0.01, 3.0);
  const std::string placed = log_once_it_has(id, "placed Mark", 60s);
  ASSERT_NE(placed.find("placed Mark"), std::string::npos) << placed;
  pilot.process.kill(SIGTERM);
  EXPECT_EQ(pilot.wait().exit_code, 0);
  auto again = start_pilot({}, 2, {"--max-task-crashes", "1"});
  const auto r = wait(id, 60s);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  expect_each_side_effect_once({{"slow", id}});
  EXPECT_EQ(crash_counts(), Json::object());
  const std::string log = log_of(id);
  EXPECT_NE(log.find("drain: left RUNNING"), std::string::npos) << log;
  EXPECT_NE(log.find("resumed"), std::string::npos) << log;
  EXPECT_EQ(log.find("crash"), std::string::npos) << log;
}

}  // namespace
}  // namespace beamflow::test
