#pragma once
// Running the beamflow binary from tests: capture its output, or start it in
// the background to kill it (both through tests/support/process.hpp).
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "../support/process.hpp"
#include "../support/scratch_dir.hpp"

namespace beamflow::test {

inline std::string beamflow_binary() {
  if (const char* b = std::getenv("BEAMFLOW_BINARY")) return b;
  return BEAMFLOW_BINARY;
}

inline std::string source_dir() { return BEAMFLOW_SOURCE_DIR; }

// The e2e tests name their scratch directory TempDir.
using TempDir = ScratchDir;

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

inline std::vector<std::string> beamflow_argv(const std::vector<std::string>& args) {
  std::vector<std::string> argv{beamflow_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// Starts `beamflow args...` in `dir` with stdout/stderr to DIR/TAG.out and
// DIR/TAG.err; returns the pid (reap it with wait_exit).
inline pid_t spawn(const std::vector<std::string>& args, const std::filesystem::path& dir,
                   const std::string& tag = "proc") {
  ProcessOptions options;
  options.cwd = dir;
  options.stdout_file = dir / (tag + ".out");
  options.stderr_file = dir / (tag + ".err");
  return Process::start(beamflow_argv(args), options).detach();
}

inline int wait_exit(pid_t pid) { return wait_for_child(pid); }

// Runs `beamflow args...` in `dir` to completion.
inline ProcessResult run_beamflow(const std::vector<std::string>& args, const std::filesystem::path& dir) {
  ProcessOptions options;
  options.cwd = dir;
  return run_process(beamflow_argv(args), options);
}

}  // namespace beamflow::test
