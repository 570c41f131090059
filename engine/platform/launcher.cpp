#include "platform/launcher.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>

namespace beamflow::platform {
namespace {

std::optional<int> number(const EnvLookup& env, const char* name, int min) {
  const auto text = env(name);
  if (!text || text->empty()) return std::nullopt;
  int value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size() || value < min) return std::nullopt;
  return value;
}

struct Family {
  const char* source;
  const char* rank;
  const char* size;
  const char* needs;  // a variable that must be set for the family to count, or nullptr
};

std::optional<std::string> process_env(const char* name) {
  const char* value = std::getenv(name);
  return value ? std::optional<std::string>(value) : std::nullopt;
}

}  // namespace

LaunchInfo launch_info(const EnvLookup& env) {
  static constexpr Family families[] = {
      {"openmpi", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", nullptr},
      {"pmix", "PMIX_RANK", "PMIX_SIZE", nullptr},
      {"pmi", "PMI_RANK", "PMI_SIZE", nullptr},
      {"slurm", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_STEP_ID"},
  };
  for (const Family& f : families) {
    if (f.needs && !env(f.needs)) continue;
    const auto rank = number(env, f.rank, 0);
    auto size = number(env, f.size, 1);
    if (!rank && !size) continue;
    // PMIx publishes no size variable of its own under every launcher: take
    // the job size the launcher's other family gives.
    if (!size) size = number(env, "OMPI_COMM_WORLD_SIZE", 1);
    if (!size && env("SLURM_STEP_ID")) size = number(env, "SLURM_NTASKS", 1);
    LaunchInfo info;
    info.source = f.source;
    info.size = size.value_or(1);
    info.rank = rank.value_or(0);
    if (info.rank >= info.size) {
      if (size) info.rank = 0;          // inconsistent: trust neither
      else info.size = info.rank + 1;  // at least this many
    }
    return info;
  }
  return {};
}

std::string node_name(const EnvLookup& env) {
  if (auto slurm = env("SLURMD_NODENAME"); slurm && !slurm->empty()) return *slurm;
  char buf[256] = {};
  return ::gethostname(buf, sizeof buf - 1) == 0 ? std::string(buf) : std::string("unknown");
}

std::string node_name() {
  return node_name(process_env);
}

bool set_by_launcher(std::string_view name) {
  const auto starts = [&](std::string_view prefix) { return name.substr(0, prefix.size()) == prefix; };
  if (starts("OMPI_ALLOW_RUN_AS_ROOT")) return false;
  if (starts("OMPI_MCA_")) {
    const std::string_view param = name.substr(9);
    for (std::string_view runtime : {"orte_", "ess", "pmix", "initial_wdir", "shmem_"})
      if (param.substr(0, runtime.size()) == runtime) return true;
    return false;
  }
  for (std::string_view family : {"OMPI_", "PMIX_", "PMI_", "SLURM_"})
    if (starts(family)) return true;
  return name == "MPI_LOCALNRANKS" || name == "MPI_LOCALRANKID";
}

NestedLaunch nested_launch(const std::vector<std::string>& environment, const NestedJob& job) {
  // The distinct hosts in rank order, and how many ranks each holds.
  std::vector<std::pair<std::string, int>> nodes;
  for (const std::string& h : job.hosts) {
    auto it = std::find_if(nodes.begin(), nodes.end(), [&](const auto& n) { return n.first == h; });
    if (it == nodes.end()) nodes.emplace_back(h, 1);
    else ++it->second;
  }
  bool in_slurm = false;
  for (const std::string& entry : environment) in_slurm |= entry.rfind("SLURM_JOB_ID=", 0) == 0;
  const bool step = nodes.size() > 1 && in_slurm;
  const auto kept = [&](const std::string& name) {
    return step && (name == "SLURM_JOB_ID" || name == "SLURM_JOBID" || name == "SLURM_CONF");
  };
  NestedLaunch out;
  for (const std::string& entry : environment) {
    const std::string name = entry.substr(0, entry.find('='));
    if (set_by_launcher(name) && !kept(name)) out.unset.push_back(name);
  }
  const std::string ranks = std::to_string(std::max(1, job.ranks));
  if (step) {
    std::string list;
    bool uniform = true;
    for (const auto& [host, count] : nodes) {
      list += (list.empty() ? "" : ",") + host;
      uniform &= count == nodes.front().second;
    }
    out.argv = {"srun", "--overlap", "--mpi=pmix", "--kill-on-bad-exit=1", "--nodelist=" + list,
                "-N", std::to_string(nodes.size()), "-n", ranks};
    if (uniform) out.argv.push_back("--ntasks-per-node=" + std::to_string(nodes.front().second));
    return out;
  }
  out.argv = {job.mpiexec, "-np", ranks};
  if (nodes.size() > 1) {
    std::string list;
    for (const auto& [host, count] : nodes) list += (list.empty() ? "" : ",") + host + ":" + std::to_string(count);
    out.argv.insert(out.argv.end(), {"--host", list});
  }
  out.set["OMPI_MCA_rmaps_base_oversubscribe"] = "1";
  return out;
}

NestedLaunch nested_launch(const NestedJob& job) {
  std::vector<std::string> environment;
  for (char** e = environ; *e; ++e) environment.emplace_back(*e);
  return nested_launch(environment, job);
}

LaunchInfo launch_info() {
  return launch_info(process_env);
}

}  // namespace beamflow::platform
