// A pilot run's log (`beamflow logs`, named by `beamflow status RUN_ID`) and
// `beamflow wait`'s progress line: on a terminal (a pty from script(1)) one
// line rewritten in place; nothing more when not a terminal or with --quiet.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <string>

#include "pilot_fixture.hpp"

namespace beamflow::test {
namespace {

// A flow that is still running while `wait` looks: echo, then a 2 s sleep
// kept on the coordinator.
const char* kSlow = R"({"StartAt": "Hello", "States": {
  "Hello": {"Type": "Task", "Resource": "echo", "Next": "Nap"},
  "Nap": {"Type": "Task", "Resource": "sleep", "Parameters": {"seconds": 2}, "End": true}}})";

class PilotMonitor : public Pilot {
 protected:
  std::string submit_slow() {
    write(m_scratch.path() / "slow.json", kSlow);
    const auto r = run_process({kBinary, "submit", (m_scratch.path() / "slow.json").string(), "--pilot",
                                m_dir.string(), "--json"},
                               within(60s));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? Json::parse(r.out).at("run_id").get<std::string>() : std::string();
  }
  // `beamflow wait` on a pseudo-terminal; what the terminal received.
  ProcessResult wait_on_tty(const std::string& run_id, const std::string& extra = "") {
    const std::string cmd = kBinary + " wait " + run_id + " --pilot " + m_dir.string() + extra;
    return run_process({"script", "-qec", cmd, "/dev/null"}, within(60s));
  }
};

TEST_F(PilotMonitor, EachRunKeepsALogOfWhereItsTasksRan) {
  auto pilot = start_pilot();
  const std::string id = submit("logged");
  ASSERT_EQ(wait(id).exit_code, 0);
  const auto status = run_process({kBinary, "status", id, "--pilot", m_dir.string(), "--json"}, within(30s));
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_EQ(Json::parse(status.out).at("log"), (m_dir / "runs" / id / "log").string());

  const auto logs = run_process({kBinary, "logs", id, "--pilot", m_dir.string()}, within(30s));
  ASSERT_EQ(logs.exit_code, 0) << logs.err;
  for (const std::string& line :
       {std::string("accepted by the pilot"), std::string("placed Hello (echo) task "), std::string("done Hello task "),
        std::string("started Nap (sleep) task "), std::string("placed Mark (command) task "),
        std::string("done Mark task "), std::string("ended SUCCEEDED")})
    EXPECT_NE(logs.out.find(line), std::string::npos) << line << "\n" << logs.out;
  EXPECT_TRUE(logs.out.find(" on rank 1 (") != std::string::npos || logs.out.find(" on rank 2 (") != std::string::npos)
      << logs.out;

  const auto json = run_process({kBinary, "logs", id, "--pilot", m_dir.string(), "--json"}, within(30s));
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const Json doc = Json::parse(json.out);
  EXPECT_EQ(doc.at("status"), "SUCCEEDED");
  EXPECT_GE(doc.at("lines").size(), 7u);
  const auto unknown = run_process({kBinary, "logs", "no-such-run", "--pilot", m_dir.string()}, within(30s));
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("pilot.run.unknown"), std::string::npos) << unknown.err;
}

TEST_F(PilotMonitor, WaitShowsProgressOnATerminalOnly) {
  auto pilot = start_pilot();
  // Not a terminal: the result alone, as before.
  const std::string first = submit_slow();
  const auto plain = run_process({kBinary, "wait", first, "--pilot", m_dir.string()}, within(60s));
  EXPECT_EQ(plain.exit_code, 0);
  EXPECT_EQ(plain.out, first + "  SUCCEEDED\n");
  EXPECT_EQ(plain.err, "");

  // A terminal: the line is rewritten in place (\r, erase to the end), says
  // the state the run is in, and is erased before the result.
  const std::string second = submit_slow();
  const auto tty = wait_on_tty(second);
  EXPECT_EQ(tty.exit_code, 0) << tty.out;
  EXPECT_NE(tty.out.find("\r\033[Kwait: 0/1 ended; " + second + " RUNNING at Nap"), std::string::npos) << tty.out;
  EXPECT_NE(tty.out.find("\r\033[K" + second + "  SUCCEEDED\r\n"), std::string::npos) << tty.out;

  // --quiet on a terminal: the result alone.
  const std::string third = submit_slow();
  const auto quiet = wait_on_tty(third, " --quiet");
  EXPECT_EQ(quiet.exit_code, 0) << quiet.out;
  EXPECT_EQ(quiet.out, third + "  SUCCEEDED\r\n");
}

// The pilot's stderr, where its driver threads each say how their run ended,
// at once: every line whole. Each line went out in five writes (std::cerr is
// unbuffered), and ~3% of a 5,000-flow run's lines came out mixed
// ("beamflow pilotbeamflow pilot: ...").
TEST_F(PilotMonitor, EveryLineOfThePilotsStderrIsWhole) {
  constexpr int kRuns = 400;
  write(m_scratch.path() / "echo.json",
        R"({"StartAt": "E", "States": {"E": {"Type": "Task", "Resource": "echo", "End": true}}})");
  {
    std::ofstream batch(m_scratch.path() / "echo.jsonl");
    for (int i = 0; i < kRuns; ++i) batch << Json{{"k", i}}.dump() << "\n";
  }
  const Json handed = submit_batch(m_scratch.path() / "echo.json", m_scratch.path() / "echo.jsonl");
  ASSERT_EQ(handed.size(), static_cast<std::size_t>(kRuns));
  auto pilot = start_pilot();
  const auto waited = wait_all(handed, 180s);
  ASSERT_EQ(waited.exit_code, 0) << waited.out << waited.err;
  ::kill(pilot.pid(), SIGTERM);
  ASSERT_EQ(pilot.wait().exit_code, 0);
  int ended = 0, lines = 0;
  std::ifstream in(pilot_log(0));
  for (std::string line; std::getline(in, line); ++lines) {
    // "beamflow pilot: 2026-12-06T09:17:22.193Z run ID SUCCEEDED"
    EXPECT_EQ(line.rfind("beamflow pilot: ", 0), 0u) << line;
    EXPECT_EQ(line.find("beamflow pilot", 1), std::string::npos) << line;
    if (line.size() > 41 && line.compare(16, 2, "20") == 0 && line[39] == 'Z' &&
        line.compare(40, 5, " run ") == 0 && line.find(" SUCCEEDED") == line.size() - 10)
      ++ended;
  }
  EXPECT_EQ(ended, kRuns) << lines << " lines";
}

// A user who holds every inotify instance allowed (max_user_instances is
// shared by all their processes) still gets wait's answer: the limit is set
// to 0 in a user namespace of the wait's own (inotify_init1 then fails with
// EMFILE, as at the limit), and wait looks by polling instead.
TEST_F(PilotMonitor, WaitAnswersWithoutAnInotifyInstance) {
  const auto probe = run_process({"unshare", "--user", "--map-root-user", "sh", "-c",
                                  "echo 0 > /proc/sys/user/max_inotify_instances"},
                                 within(30s));
  if (probe.exit_code != 0) GTEST_SKIP() << "no user namespace with its own inotify limit here: " << probe.err;
  auto pilot = start_pilot();
  const std::string id = submit_slow();
  const auto r = run_process({"unshare", "--user", "--map-root-user", "sh", "-c",
                              "echo 0 > /proc/sys/user/max_inotify_instances && exec \"$0\" \"$@\"", kBinary,
                              "wait", id, "--pilot", m_dir.string(), "--json"},
                             within(60s));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(Json::parse(r.out).at("status"), "SUCCEEDED");
}

}  // namespace
}  // namespace beamflow::test
