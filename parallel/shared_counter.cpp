#include "parallel/shared_counter.hpp"

#include <utility>

namespace beamflow::parallel {

namespace {
// stop() sets the counter to this (a replace, so any number of stops is
// safe); claims after it count up from it, far above any count of claims.
constexpr std::int64_t kStopped = std::int64_t(1) << 62;
}  // namespace

SharedCounter::SharedCounter(const Comm& comm, int host, Claims claims) : m_host(host) {
  if (comm.is_serial()) return;
  const MPI_Comm c = comm.mpi();
  MPI_Comm node = MPI_COMM_NULL;
  MPI_Comm_split_type(c, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  int node_size = 0;
  MPI_Comm_size(node, &node_size);
  MPI_Comm_free(&node);
  if (claims == Claims::Dealt || node_size != comm.size()) {  // dealt, not drawn (see the header)
    m_local = comm.rank();
    m_step = comm.size();
    return;
  }
  const MPI_Aint bytes = comm.rank() == host ? MPI_Aint(sizeof(std::int64_t)) : 0;
  MPI_Win win;
  MPI_Win_allocate(bytes, sizeof(std::int64_t), MPI_INFO_NULL, c, &m_base, &win);
  m_win = win;
  if (comm.rank() == host) {
    MPI_Win_lock(MPI_LOCK_EXCLUSIVE, host, 0, win);
    *m_base = 0;
    MPI_Win_unlock(host, win);
  }
  MPI_Barrier(c);  // set before anyone claims
  MPI_Win_lock_all(MPI_MODE_NOCHECK, win);
}

SharedCounter::~SharedCounter() {
  if (!m_win) return;
  MPI_Win_unlock_all(*m_win);
  MPI_Win_free(&*m_win);
}

std::int64_t SharedCounter::fetch(std::int64_t value, bool replace) {
  if (!m_win) return std::exchange(m_local, replace ? value : m_local + value * m_step);
  std::int64_t old = 0;
  MPI_Fetch_and_op(&value, &old, MPI_INT64_T, m_host, 0, replace ? MPI_REPLACE : MPI_SUM, *m_win);
  MPI_Win_flush(m_host, *m_win);
  return old;
}

std::optional<std::int64_t> SharedCounter::claim() {
  const std::int64_t n = fetch(1, false);
  if (n >= kStopped) return std::nullopt;
  return n;
}

void SharedCounter::stop() { fetch(kStopped, true); }

}  // namespace beamflow::parallel
