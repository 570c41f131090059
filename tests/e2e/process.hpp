#pragma once
// Running the beamflow binary from tests: capture its output, or start it in
// the background to kill it.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "../support/scratch_dir.hpp"

namespace beamflow::test {

inline std::string beamflow_binary() {
  if (const char* b = std::getenv("BEAMFLOW_BINARY")) return b;
  return BEAMFLOW_BINARY;
}

inline std::string source_dir() { return BEAMFLOW_SOURCE_DIR; }

struct ProcessResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// The e2e tests name their scratch directory TempDir.
using TempDir = ScratchDir;

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// Starts `beamflow args...` with stdout/stderr to files in `dir`; returns the pid.
inline pid_t spawn(const std::vector<std::string>& args, const std::filesystem::path& dir,
                   const std::string& tag = "proc") {
  const std::string out = (dir / (tag + ".out")).string(), err = (dir / (tag + ".err")).string();
  pid_t pid = fork();
  if (pid == 0) {
    int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(o, 1);
    dup2(e, 2);
    int in = open("/dev/null", O_RDONLY);
    dup2(in, 0);
    if (chdir(dir.c_str()) != 0) _exit(126);
    std::vector<std::string> full{beamflow_binary()};
    full.insert(full.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : full) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

inline int wait_exit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Runs `beamflow args...` in `dir` to completion.
inline ProcessResult run_beamflow(const std::vector<std::string>& args, const std::filesystem::path& dir) {
  static int counter = 0;
  const std::string tag = "run" + std::to_string(counter++);
  ProcessResult r;
  r.exit_code = wait_exit(spawn(args, dir, tag));
  r.out = slurp(dir / (tag + ".out"));
  r.err = slurp(dir / (tag + ".err"));
  return r;
}

}  // namespace beamflow::test
