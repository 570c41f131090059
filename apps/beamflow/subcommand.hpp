#pragma once
// Subcommands of the single `beamflow` executable. Each lives in its own
// cmd_*.cpp and registers itself with a static Registrar, so adding one
// touches no shared file.
#include <functional>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

namespace beamflow::cli {

// Exit codes shared by every subcommand; which one an error gets is decided
// by exit_code() in apps/beamflow/output.hpp alone.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;  // invalid definition or bad usage

struct Subcommand {
  std::string name;
  std::string summary;  // one line for `beamflow --help`
  // Receives the arguments after the subcommand name; returns the exit code.
  std::function<int(const std::vector<std::string>& args)> main;
  bool hidden = false;  // internal helpers (e.g. the command supervisor)
};

struct Registrar {
  explicit Registrar(Subcommand command);
};

const std::vector<Subcommand>& subcommands();

namespace po = boost::program_options;

}  // namespace beamflow::cli
