#pragma once
// A counter every rank of a communicator draws from, for work handed out
// as ranks become free (recon_job.cpp's chunks): claim() returns the next
// number, 0, 1, 2, ..., each to exactly one rank, in the order the claims
// reach the counter, without the other ranks taking part (an MPI one-sided
// fetch-and-add on a window the host rank exposes, passive target). stop()
// ends the drawing for every rank: a claim after it returns nothing, so one
// rank's failure stops the others at their next claim rather than at the
// end of their share.
//
// Construction and destruction are collective over the communicator (MPI
// window creation and freeing); claim() and stop() are not. On a serial
// Comm the counter is a plain integer. Every call must come from the thread
// that makes the process's other MPI calls (MPI is initialised FUNNELED).
//
// Progress: with every rank on one node Open MPI's shared-memory window
// (osc sm) does the fetch-and-add with a CPU atomic, so a claim never waits
// for the host rank, whatever it is doing (tests/tomography/
// shared_counter_test.cpp checks it; a claim took ~1-3 us there). Across
// nodes a one-sided component may need the host to enter MPI before a
// claim completes (Open MPI's osc pt2pt does: the test fails with it), so
// there the numbers are dealt instead of drawn: rank r of n gets r, r + n,
// r + 2n, ... with no communication, and stop() ends only its own rank's
// claims (the caller's final agreement still reports the failure).
#include <mpi.h>

#include <cstdint>
#include <optional>

#include "parallel/comm.hpp"

namespace beamflow::parallel {

class SharedCounter {
 public:
  enum class Claims { Drawn, Dealt };
  // Collective: a counter at 0 held by rank `host`. Drawn: from the window
  // where every rank is on one node, dealt otherwise; Dealt: dealt
  // whatever the placement (what ranks on several nodes get; for tests).
  explicit SharedCounter(const Comm& comm, int host = 0, Claims claims = Claims::Drawn);
  ~SharedCounter();  // collective
  SharedCounter(const SharedCounter&) = delete;
  SharedCounter& operator=(const SharedCounter&) = delete;

  // The next number, or nothing once any rank has called stop().
  std::optional<std::int64_t> claim();
  // Every later claim, on any rank, returns nothing.
  void stop();

 private:
  // The counter's value before adding `value` to it (or replacing it).
  std::int64_t fetch(std::int64_t value, bool replace);

  std::optional<MPI_Win> m_win;  // none on a serial Comm
  std::int64_t* m_base = nullptr;
  std::int64_t m_local = 0;  // without a window: this rank's next number
  std::int64_t m_step = 1;   // ... and how far the next one is
  int m_host = 0;
};

}  // namespace beamflow::parallel
