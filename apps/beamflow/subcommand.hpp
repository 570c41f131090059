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

// Parses `args` against `options` (+ positional), handling --help uniformly:
// returns false after printing help (exit 0) or a usage error (cli.usage,
// exit 2, reported as apps/beamflow/output.hpp says), with the code stored
// in `exit_code`. New commands use Output::parse, which throws instead.
bool parse_options(const std::string& command, const std::string& synopsis,
                   const po::options_description& options,
                   const po::positional_options_description& positional,
                   const std::vector<std::string>& args, po::variables_map& vm, int& exit_code);

}  // namespace beamflow::cli
