#include "platform/launcher.hpp"

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

LaunchInfo launch_info() {
  return launch_info([](const char* name) -> std::optional<std::string> {
    const char* value = std::getenv(name);
    return value ? std::optional<std::string>(value) : std::nullopt;
  });
}

}  // namespace beamflow::platform
