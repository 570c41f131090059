#pragma once
// Pieces several subcommands share: loading JSON documents with clear
// errors, the action registry, and the runs directory option.
#include <cstddef>
#include <optional>
#include <string>

#include "actions/action.hpp"
#include "apps/beamflow/subcommand.hpp"
#include "core/json.hpp"

namespace beamflow::cli {

// Documents larger than this are refused before parsing.
inline constexpr std::size_t kMaxDocumentBytes = 64u << 20;

// Reads and parses a JSON file ("-" for stdin). Throws Error
// "cli.file_missing", "cli.file_too_large" or "cli.bad_json" (with line and
// column) naming the file and what it was for ("flow definition", "input").
Json load_json_file(const std::string& path, const std::string& what);

// Every action this build of beamflow offers.
const actions::ActionRegistry& action_registry();

// --runs-dir DIR (default $BEAMFLOW_HOME/runs), or --pilot D (D/runs).
void add_runs_dir_option(po::options_description& options);
std::optional<std::string> runs_dir_option(const po::variables_map& vm);

}  // namespace beamflow::cli
