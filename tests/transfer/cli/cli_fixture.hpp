#pragma once
// The fixture of the `beamflow transfer` command-line tests: endpoints for
// the scratch source and destination, and the real binary run with a request
// (on N ranks under mpirun), its output kept in files.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "../fixture.hpp"
#include "../../support/process.hpp"

namespace beamflow::transfer::testing {

inline std::string binary() {
  if (const char* b = std::getenv("BEAMFLOW_BINARY")) return b;
  return BEAMFLOW_BINARY;
}

struct Ran {
  int code = -1;
  std::string out, err;
};

class CliTest : public TransferTest {
 protected:
  void SetUp() override {
    TransferTest::SetUp();
    ::setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    ::setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    endpoints_file = dir.path() / "endpoints.json";
    put(endpoints_file, Json{{"endpoints",
                              {{{"name", "beamline"}, {"path", src.string()}, {"read", true}, {"write", false}},
                               {{"name", "compute"}, {"path", dst.string()}, {"write", true}}}}}
                            .dump());
  }

  std::vector<std::string> argv(const Json& req, int ranks, const std::string& state_dir) const {
    put(dir.path() / "request.json", req.dump());
    std::vector<std::string> a;
    if (ranks > 1) a = {"mpirun", "--oversubscribe", "-np", std::to_string(ranks)};
    for (const std::string& s : {binary(), std::string("transfer"), std::string("--endpoints"), endpoints_file.string(),
                                std::string("--request"), (dir.path() / "request.json").string(),
                                std::string("--state-dir"), (dir.path() / state_dir).string(), std::string("--json")})
      a.push_back(s);
    return a;
  }

  // Starts `args` with stdout and stderr to the given files; reap it with waitpid.
  // `env` is set in the child only (the fault shim's variables).
  using Env = std::vector<std::pair<std::string, std::string>>;
  static pid_t spawn(const std::vector<std::string>& args, const stdfs::path& out, const stdfs::path& err,
                     const Env& env = {}) {
    beamflow::test::ProcessOptions options;
    options.stdout_file = out;
    options.stderr_file = err;
    options.env = env;
    return beamflow::test::Process::start(args, options).detach();
  }

  Ran transfer(const Json& req, int ranks = 1, const std::string& state_dir = "state", const Env& env = {}) const {
    const auto out = dir.path() / "out.txt", err = dir.path() / "err.txt";
    const pid_t pid = spawn(argv(req, ranks, state_dir), out, err, env);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), slurp(out), slurp(err)};
  }

  stdfs::path endpoints_file;
};

}  // namespace beamflow::transfer::testing
