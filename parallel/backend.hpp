#pragma once
// Which Kokkos backend the tomography kernels run on. The kernels run on
// Kokkos's default execution space; these functions are the one place that
// knows which backends the build has (CONVENTIONS rule 5), so asking for an
// absent one is a typed error rather than a silent fallback.
#include <string>
#include <vector>

namespace beamflow::parallel {

std::vector<std::string> compiled_backends();  // "Serial", "OpenMP", "Cuda", ...
std::string default_backend();                 // where the kernels run
// Accepts "", "default" or the default backend's name (any case); throws
// tomo.usage.backend otherwise.
void require_backend(const std::string& name);

}  // namespace beamflow::parallel
