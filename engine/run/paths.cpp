#include "run/paths.hpp"

#include <cstdlib>

#include "core/error.hpp"
#include "platform/private_dir.hpp"

namespace beamflow::run {

std::filesystem::path beamflow_home() {
  if (const char* home = std::getenv("BEAMFLOW_HOME"); home && *home) return home;
  return std::filesystem::current_path() / ".beamflow";
}

std::filesystem::path runs_root(const std::optional<std::string>& override_dir) {
  if (override_dir && !override_dir->empty()) {
    const auto root = std::filesystem::absolute(*override_dir);
    fs::refuse_shared_directory(root, "run.home_shared");
    return root;
  }
  const auto home = beamflow_home();
  fs::refuse_shared_directory(home, "run.home_shared");
  fs::refuse_shared_directory(home / "runs", "run.home_shared");
  return home / "runs";
}

std::filesystem::path run_dir(const std::filesystem::path& root, const std::string& run_id) {
  const bool ok = !run_id.empty() && run_id.size() <= 128 && run_id != "." && run_id != ".." &&
                  run_id.find_first_of("/\\") == std::string::npos && run_id[0] != '.';
  if (!ok) {
    throw Error("run.bad_id", states_error::Runtime,
                "run id must be a plain name (no '/', no leading '.', at most 128 characters)",
                {{"run_id", run_id}});
  }
  return root / run_id;
}

}  // namespace beamflow::run
