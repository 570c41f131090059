#pragma once
// The parallel runtime of a tomography job: MPI and Kokkos, initialised by
// the tomography subcommands and actions only (the flow engine itself never
// starts them).
//
// MPI starts only when it is needed: a process that a launcher started
// (mpirun/mpiexec, srun: platform::launch_info(), the one reader of their
// environment) initialises MPI; one that no launcher started is one rank on
// a serial Comm and never calls MPI_Init, so it does not pay MPI's singleton
// start (an orted spawned, ~0.3-1 s). Both give the same results.
// A job of Open MPI whose ranks all run on one node starts with the ob1
// messaging layer unless the user chose one (mpi_settings.hpp): opening
// the others was most of MPI_Init.
//
// BEAMFLOW_TRACE_START=1 in the environment prints one line on stderr once
// the runtime is ready (the moment real work can begin):
//   beamflow-start ready=<epoch s> mpi=<0|1> mpi_ms=<ms> kokkos_ms=<ms> since_exec_ms=<ms>
// where mpi= is MPI_Initialized() asked of MPI itself at that moment and
// since_exec_ms is the time since the process started (10 ms resolution).
#include <memory>

#include "parallel/comm.hpp"

namespace beamflow::parallel {

class ParallelRuntime {
 public:
  enum class Mpi {
    WhenLaunched,  // MPI only under a launcher (or when already initialised)
    Always,        // MPI even alone (MPI singleton): for mains that call MPI themselves
  };

  enum class Kernels {
    Kokkos,  // Kokkos initialised too: commands that run kernels
    None,    // MPI only (beamflow transfer): no Kokkos start, no Kokkos threads
  };

  // The commands' runtime: MPI when launched (Mpi::WhenLaunched), Kokkos.
  // The destructor finalises only what the constructor initialised.
  explicit ParallelRuntime(Mpi mpi = Mpi::WhenLaunched, Kernels kernels = Kernels::Kokkos);
  // Test mains and benchmarks, which use MPI_COMM_WORLD themselves: MPI
  // always (unless already initialised), with the program's arguments.
  ParallelRuntime(int* argc, char*** argv, Mpi mpi = Mpi::Always, Kernels kernels = Kernels::Kokkos);
  ~ParallelRuntime();
  ParallelRuntime(const ParallelRuntime&) = delete;
  ParallelRuntime& operator=(const ParallelRuntime&) = delete;

  // MPI_COMM_WORLD, or a serial Comm when MPI was not started.
  const Comm& world() const noexcept { return *m_world; }

  // The runtime of the whole process for in-process actions: initialised on
  // first use (Mpi::WhenLaunched), finalised at exit. MPI and Kokkos can each
  // be initialised only once per process, so actions share this one rather
  // than owning their own.
  static ParallelRuntime& process();

  // Whether MPI is initialised in this process (and not yet finalised).
  static bool mpi_active() noexcept;

 private:
  bool m_own_mpi = false;
  struct KokkosGuard;
  std::unique_ptr<KokkosGuard> m_kokkos;
  std::unique_ptr<Comm> m_world;
};

}  // namespace beamflow::parallel
