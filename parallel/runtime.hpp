#pragma once
// The parallel runtime of a tomography job: MPI and Kokkos, initialised by
// the tomography subcommands and actions only (the flow engine itself never
// starts them). Launched without mpirun the job is one rank (MPI singleton).
#include <memory>

#include "parallel/comm.hpp"

namespace beamflow::parallel {

class ParallelRuntime {
 public:
  // Initialises MPI (unless already initialised, e.g. by a test main) and
  // Kokkos (likewise); the destructor finalises only what it initialised.
  ParallelRuntime(int* argc, char*** argv);
  ParallelRuntime();
  ~ParallelRuntime();
  ParallelRuntime(const ParallelRuntime&) = delete;
  ParallelRuntime& operator=(const ParallelRuntime&) = delete;

  // MPI_COMM_WORLD.
  const Comm& world() const noexcept { return *m_world; }

  // The runtime of the whole process for in-process actions: initialised on
  // first use, finalised at exit. MPI and Kokkos can each be initialised only
  // once per process, so actions share this one rather than owning their own.
  static ParallelRuntime& process();

 private:
  bool m_own_mpi = false;
  struct KokkosGuard;
  std::unique_ptr<KokkosGuard> m_kokkos;
  std::unique_ptr<Comm> m_world;
};

}  // namespace beamflow::parallel
