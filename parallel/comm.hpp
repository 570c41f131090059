#pragma once
// The MPI communicator a tomography job runs on, with the few collectives
// the drivers use. Every collective here must be called by every rank.
//
// Errors and collectives: a rank that throws while the others go on to a
// collective call deadlocks the job. Steps that may fail on some ranks only
// run inside agree(): every rank learns whether any rank failed and, if one
// did, every rank throws that rank's error, so all of them leave the
// collective sequence together. In barrier() and agree() a rank that waits
// for slower ones sleeps rather than spinning in MPI, leaving the cores to
// the ranks still working: in the kernel until the last rank arrives when
// all ranks share a node (a futex in shared memory), between tests of a
// non-blocking collective otherwise.
//
// A serial Comm is one rank that needs no MPI: its collectives are local and
// it never calls MPI, so a process that no launcher started (mpirun, srun)
// runs without initialising MPI at all (ParallelRuntime). It behaves as a
// one-rank MPI communicator would, agree() included.
#include <mpi.h>

#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace beamflow::parallel {

// How many times this process has tested MPI for a barrier() or agree() to
// complete (every rank, every Comm). A rank that waits for a slower one on
// the same node is woken when that one arrives, not every millisecond:
// tests/tomography/comm_test.cpp counts the tests such a wait makes.
std::int64_t collective_wait_tests() noexcept;

class Comm {
 public:
  explicit Comm(MPI_Comm comm);  // not owned
  // One rank, no MPI.
  static Comm serial() noexcept { return Comm(); }

  // The MPI communicator, none for a serial Comm: what io::h5::open_file
  // takes (a serial Comm opens files without MPI-IO).
  std::optional<MPI_Comm> get() const noexcept;
  // The MPI communicator for raw MPI calls; throws std::logic_error on a
  // serial Comm (a caller that needs MPI checks is_serial() first).
  MPI_Comm mpi() const;
  bool is_serial() const noexcept { return !m_comm; }
  int rank() const noexcept { return m_rank; }
  int size() const noexcept { return m_size; }
  bool is_root() const noexcept { return m_rank == 0; }

  void barrier() const;
  std::int64_t max(std::int64_t value) const;
  std::int64_t sum(std::int64_t value) const;
  double max(double value) const;
  void sum_in_place(std::vector<double>& values) const;
  std::string broadcast(const std::string& value, int root = 0) const;
  // Every rank's value, in rank order, on `root`; an empty vector elsewhere.
  std::vector<std::string> gather(const std::string& value, int root = 0) const;

  // Runs `step` on every rank; throws on every rank when it threw on any
  // (the lowest failing rank's error, as a beamflow::Error).
  void agree(const std::function<void()>& step) const;
  // Same, when each rank already holds the outcome of its step.
  void agree(std::exception_ptr outcome) const;

 private:
  Comm() noexcept = default;

  std::optional<MPI_Comm> m_comm;
  int m_rank = 0;
  int m_size = 1;
};

}  // namespace beamflow::parallel
