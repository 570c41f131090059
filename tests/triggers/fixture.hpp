#pragma once
// What the trigger tests share: the binary, a pilot directory's submissions,
// and waiting for a condition without timing anything.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/json.hpp"
#include "core/json_parse.hpp"
#include "pilot/intake.hpp"
#include "../support/process.hpp"

namespace beamflow::test {

inline std::string beamflow_binary() {
  if (const char* b = std::getenv("BEAMFLOW_BINARY")) return b;
  return BEAMFLOW_BINARY;
}

inline ProcessResult beamflow(std::vector<std::string> args, const ProcessOptions& options = {}) {
  args.insert(args.begin(), beamflow_binary());
  ProcessOptions o = options;
  if (o.timeout.count() == 0) o.timeout = std::chrono::seconds(60);
  return run_process(args, o);
}

inline Json json_of(const std::string& text) { return parse_json(text, "output"); }

// Every submission handed to pilot directory `pilot` (submission files and
// the batch entries their ledger link names, in inbox/ and accepted/), as
// JSON: what a pilot runs, each once.
inline std::vector<Json> submissions(const std::filesystem::path& pilot) {
  std::vector<Json> out;
  for (const auto& s : pilot::list_submissions(pilot)) out.push_back(s.to_json());
  return out;
}

inline Json read_json(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_json(text, p.string());
}

// Polls `done` until it holds or `limit` passes; whether it held.
inline bool eventually(const std::function<bool()>& done, std::chrono::seconds limit = std::chrono::seconds(60)) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

inline void write_text(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

// A watcher started in the background (`beamflow trigger watch --pilot D`),
// its stderr kept in a file so that the test can wait for its start line.
class WatcherProcess {
 public:
  WatcherProcess(const std::filesystem::path& pilot, const std::filesystem::path& log)
      : m_log(log),
        m_process(Process::start({beamflow_binary(), "trigger", "watch", "--pilot", pilot.string(), "--json"},
                                 ProcessOptions{.stderr_file = log})) {
    started = eventually([&] {
      std::ifstream in(m_log);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      return text.find("watching ") != std::string::npos;
    });
  }
  // SIGTERM: the watcher prints its counts and exits 0.
  ProcessResult stop() {
    m_process.kill(SIGTERM);
    return m_process.wait();
  }
  void kill(int signal) { m_process.kill(signal); }
  ProcessResult wait() { return m_process.wait(); }
  bool started = false;

 private:
  std::filesystem::path m_log;
  Process m_process;
};

}  // namespace beamflow::test
