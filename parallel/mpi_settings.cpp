#include "parallel/mpi_settings.hpp"

#include <cstdlib>

namespace beamflow::parallel {

std::vector<std::pair<std::string, std::string>> open_mpi_defaults(const platform::EnvLookup& env) {
  const auto size = env("OMPI_COMM_WORLD_SIZE"), local = env("OMPI_COMM_WORLD_LOCAL_SIZE");
  if (!size || !local || size->empty() || *size != *local) return {};
  if (env("OMPI_MCA_pml")) return {};
  return {{"OMPI_MCA_pml", "ob1"}};
}

void set_open_mpi_defaults() {
  const auto defaults = open_mpi_defaults([](const char* name) -> std::optional<std::string> {
    const char* value = std::getenv(name);
    return value ? std::optional<std::string>(value) : std::nullopt;
  });
  for (const auto& [name, value] : defaults) ::setenv(name.c_str(), value.c_str(), 0);
}

}  // namespace beamflow::parallel
