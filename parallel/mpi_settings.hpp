#pragma once
// Open MPI settings beamflow supplies before MPI_Init where the user chose
// none (ParallelRuntime sets them in the environment, which Open MPI reads
// at MPI_Init; a value the user set, with `mpirun -mca` or OMPI_MCA_*, wins).
//
// Open MPI opens every messaging layer (pml) it may use and keeps the best;
// opening them is most of MPI_Init: on the 2-core VM, whose system settings
// exclude UCX, opening cm with its PSM/PSM2 transports made MPI_Init take
// 0.35-0.5 s a rank (under load), against 0.1-0.2 s with ob1 alone, the
// layer it selected anyway (bench/RESULTS.md, Tomography). A job whose ranks all run on
// one node (Open MPI's local size is its size) needs no network transport,
// so there the pml is ob1, whose shared-memory and self transports carry
// the ranks' messages. Jobs over several nodes, or not started by Open
// MPI's launcher, are left to the site's settings.
#include <string>
#include <utility>
#include <vector>

#include "platform/launcher.hpp"

namespace beamflow::parallel {

// (variable, value) pairs to set; empty when the job needs none.
std::vector<std::pair<std::string, std::string>> open_mpi_defaults(const platform::EnvLookup& env);
// Sets this process's defaults (those of its environment) where unset.
// Before MPI_Init, while no other thread reads the environment.
void set_open_mpi_defaults();

}  // namespace beamflow::parallel
