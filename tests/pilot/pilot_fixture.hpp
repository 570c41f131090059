#pragma once
// What the pilot's end-to-end tests share: the real binary, a pilot started
// (and, with what it started, killed when the test ends), submissions of a
// flow whose command appends its tag to a file (the side effect counted),
// waits, and the checks that every flow succeeded with each side effect once.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../support/process.hpp"
#include "../support/scratch_dir.hpp"
#include "core/json.hpp"

namespace beamflow::test {
namespace {

namespace fsys = std::filesystem;
using namespace std::chrono_literals;

const std::string kBinary = BEAMFLOW_BINARY;

// echo, then a sleep (kept on the coordinator: it needs no rank), then a
// command that appends the flow's tag to a file (the side effect counted),
// then echo again.
const char* kFlow = R"({"StartAt": "Hello", "States": {
  "Hello": {"Type": "Task", "Resource": "echo", "Parameters": {"tag.$": "$.tag"}, "ResultPath": "$.hello", "Next": "Nap"},
  "Nap": {"Type": "Task", "Resource": "sleep", "Parameters": {"seconds.$": "$.nap"}, "ResultPath": null, "Next": "Mark"},
  "Mark": {"Type": "Task", "Resource": "command", "Parameters": {"argv.$": "$.argv"}, "ResultPath": null, "Next": "Bye"},
  "Bye": {"Type": "Task", "Resource": "echo", "Parameters": {"tag.$": "$.tag"}, "End": true}}})";

ProcessOptions within(std::chrono::milliseconds limit) {
  ProcessOptions o;
  o.timeout = limit;
  return o;
}

// Every process's parent, from /proc.
std::map<pid_t, pid_t> parents() {
  std::map<pid_t, pid_t> out;
  for (const auto& e : fsys::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(e.path() / "stat");
    std::string line;
    std::getline(stat, line);
    const auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state = 0;
    pid_t ppid = 0;
    rest >> state >> ppid;
    out[static_cast<pid_t>(std::stol(name))] = ppid;
  }
  return out;
}

// `pid` and every process below it, with SIGKILL: mpirun and its ranks, as a
// node failure would.
void kill_tree(pid_t pid) {
  std::map<pid_t, std::vector<pid_t>> children;
  for (const auto& [child, parent] : parents()) children[parent].push_back(child);
  std::vector<pid_t> all{pid};
  for (std::size_t i = 0; i < all.size(); ++i)
    for (pid_t c : children[all[i]]) all.push_back(c);
  for (pid_t p : all) ::kill(p, SIGKILL);
}

// A started pilot; what a failed test leaves running (mpirun's ranks
// included) is killed with it. Only a child not yet waited for is killed:
// its pid cannot have been reused.
struct PilotProcess {
  Process process;
  explicit PilotProcess(Process p) : process(std::move(p)) {}
  PilotProcess(PilotProcess&&) = default;
  ~PilotProcess() {
    if (process.pid() > 0) kill_tree(process.pid());
  }
  pid_t pid() const { return process.pid(); }
  ProcessResult wait() { return process.wait(); }
};

class Pilot : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dir = m_scratch.path() / "pilot";
    m_effects = m_scratch.path() / "effects.txt";
    write(m_scratch.path() / "flow.json", kFlow);
  }

  static void write(const fsys::path& f, const std::string& text) { std::ofstream(f) << text; }

  PilotProcess start_pilot(const std::vector<std::string>& launcher = {}, int slots = 2,
                           const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = launcher;
    for (const std::string& a : {kBinary, std::string("pilot"), std::string("--dir"), m_dir.string(),
                                 std::string("--slots"), std::to_string(slots)})
      argv.push_back(a);
    argv.insert(argv.end(), extra.begin(), extra.end());
    ProcessOptions o;
    o.env = {{"OMPI_ALLOW_RUN_AS_ROOT", "1"}, {"OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1"}};
    o.stderr_file = pilot_log(m_starts++);
    return PilotProcess{Process::start(argv, o)};
  }

  // The stderr of the n-th pilot this test started.
  fsys::path pilot_log(int n) const { return m_scratch.path() / ("pilot-" + std::to_string(n) + ".log"); }

  // The last lines of each pilot's stderr log, for a failure's message.
  std::string pilot_logs(std::size_t last = 40) const {
    std::string out;
    for (int i = 0; i < m_starts; ++i) {
      const fsys::path f = pilot_log(i);
      std::deque<std::string> tail;
      std::ifstream in(f);
      for (std::string l; std::getline(in, l);) {
        tail.push_back(std::move(l));
        if (tail.size() > last) tail.pop_front();
      }
      out += "--- " + f.string() + " (last " + std::to_string(tail.size()) + " lines)\n";
      for (const auto& l : tail) out += l + "\n";
    }
    return out;
  }

  // Submits the flow with a tag; the command sleeps `work` seconds before it
  // appends the tag. Returns the run id.
  std::string submit(const std::string& tag, double nap = 0.05, double work = 0.0) {
    const fsys::path input = m_scratch.path() / ("in-" + tag + ".json");
    std::ostringstream cmd;
    cmd << "sleep " << work << "; echo " << tag << " >> " << m_effects.string();
    write(input, Json{{"tag", tag}, {"nap", nap}, {"argv", {"sh", "-c", cmd.str()}}}.dump());
    const auto r = run_process({kBinary, "submit", (m_scratch.path() / "flow.json").string(), "--input",
                                input.string(), "--pilot", m_dir.string(), "--id", tag, "--json"},
                               within(60s));
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    return Json::parse(r.out).at("run_id").get<std::string>();
  }

  // Submits `n` flows from 4 concurrent submitters; returns tag -> run id.
  std::map<std::string, std::string> submit_many(int n, const std::string& prefix, double work = 0.0) {
    std::map<std::string, std::string> runs;
    std::mutex m;
    std::vector<std::thread> submitters;
    for (int s = 0; s < 4; ++s) {
      submitters.emplace_back([&, s] {
        for (int i = s; i < n; i += 4) {
          const std::string tag = prefix + std::to_string(i);
          const std::string id = submit(tag, 0.05, work);
          const std::lock_guard<std::mutex> lock(m);
          runs[tag] = id;
        }
      });
    }
    for (auto& t : submitters) t.join();
    return runs;
  }

  // `beamflow submit FLOW --batch LINES`: the runs handed over, one
  // {submission_id, run_id, existed} per line; none when it failed.
  Json submit_batch(const fsys::path& flow, const fsys::path& lines, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {kBinary, "submit", flow.string(), "--batch", lines.string(),
                                     "--pilot", m_dir.string(), "--json"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const auto r = run_process(argv, within(60s));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? Json::parse(r.out).at("runs") : Json::array();
  }

  // One `beamflow wait --json` for all of `runs` (as submit_batch answers).
  ProcessResult wait_all(const Json& runs, std::chrono::seconds limit, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {kBinary, "wait"};
    for (const auto& r : runs) argv.push_back(r.at("run_id").get<std::string>());
    for (const std::string& a : {std::string("--pilot"), m_dir.string(), std::string("--json")}) argv.push_back(a);
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run_process(argv, within(limit));
  }

  ProcessResult wait(const std::string& run_id, std::chrono::seconds timeout = 180s) {
    return run_process({kBinary, "wait", run_id, "--pilot", m_dir.string(), "--json"}, within(timeout));
  }

  // Tasks done by all worker ranks, as `beamflow status --json` counts them.
  static std::int64_t tasks_done(const Json& status) {
    std::int64_t done = 0;
    for (const auto& rank : status["pilot"]["ranks"]) done += rank["tasks_done"].get<std::int64_t>();
    return done;
  }

  // `beamflow status --json` once `done` holds of it, or the last look after
  // a minute: the pilot rewrites status.json about once a second, later on a
  // loaded machine, so a test waits for what it expects to see there.
  template <class Pred>
  Json status_when(Pred&& done) {
    Json s;
    for (int look = 0; look < 300; ++look) {
      if (look > 0) std::this_thread::sleep_for(200ms);
      const auto r = run_process({kBinary, "status", "--pilot", m_dir.string(), "--json"});
      if (r.exit_code != 0) continue;
      s = Json::parse(r.out);
      if (s["pilot"].is_object() && done(s)) break;
    }
    return s;
  }

  void expect_all_succeeded(const std::map<std::string, std::string>& runs) {
    for (const auto& [tag, id] : runs) {
      const auto r = wait(id);
      EXPECT_EQ(r.exit_code, 0) << tag << " " << r.out << r.err;
      if (r.exit_code == 0) {
        EXPECT_EQ(Json::parse(r.out).at("status"), "SUCCEEDED");
      }
    }
  }

  // Every tag's line exactly once, and nothing else.
  void expect_each_side_effect_once(const std::map<std::string, std::string>& runs) {
    std::map<std::string, int> seen;
    std::ifstream in(m_effects);
    for (std::string line; std::getline(in, line);) ++seen[line];
    EXPECT_EQ(seen.size(), runs.size());
    for (const auto& [tag, id] : runs) EXPECT_EQ(seen[tag], 1) << tag;
  }

  ScratchDir m_scratch;
  fsys::path m_dir, m_effects;
  int m_starts = 0;
};

}  // namespace
}  // namespace beamflow::test
