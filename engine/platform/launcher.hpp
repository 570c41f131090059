#pragma once
// What a parallel launcher (mpirun/mpiexec of Open MPI, MPICH or Intel MPI,
// PMIx, Slurm's srun) told this process through its environment: the one
// place that reads those variables, usable before MPI is initialised.
#include <functional>
#include <optional>
#include <string>

namespace beamflow::platform {

struct LaunchInfo {
  int rank = 0;        // this process's rank in the job (0 when not launched)
  int size = 1;        // processes the launcher started (1 when not launched)
  std::string source;  // "openmpi", "pmix", "pmi", "slurm", or "" when not launched
  bool launched() const noexcept { return !source.empty(); }
};

// Reads a variable; std::getenv by default, a map in tests.
using EnvLookup = std::function<std::optional<std::string>(const char* name)>;

// The launcher's view, from the first family that sets a rank or a size, in
// this order: Open MPI (OMPI_COMM_WORLD_RANK/SIZE), PMIx (PMIX_RANK with
// PMIX_SIZE, else the job size Open MPI or Slurm gives), PMI-1/2 of MPICH,
// Intel MPI and srun --mpi=pmi2 (PMI_RANK/PMI_SIZE), and Slurm itself
// (SLURM_PROCID/SLURM_NTASKS, only inside a step: SLURM_STEP_ID set, since
// an sbatch script's environment has SLURM_NTASKS but is one process).
// Malformed or out-of-range values are ignored (rank 0, size 1), and a rank
// never reaches the size.
LaunchInfo launch_info(const EnvLookup& env);
LaunchInfo launch_info();  // of this process

}  // namespace beamflow::platform
