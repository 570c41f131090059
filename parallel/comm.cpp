#include "parallel/comm.hpp"

#include <fcntl.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <new>
#include <thread>
#include <stdexcept>

#include "core/error.hpp"
#include "core/json.hpp"

namespace beamflow::parallel {

Comm::Comm(MPI_Comm comm) : m_comm(comm) {
  MPI_Comm_rank(comm, &m_rank);
  MPI_Comm_size(comm, &m_size);
}

std::optional<MPI_Comm> Comm::get() const noexcept { return m_comm; }

MPI_Comm Comm::mpi() const {
  if (!m_comm) throw std::logic_error("parallel::Comm::mpi() on a serial communicator (no MPI)");
  return *m_comm;
}

namespace {
std::atomic<std::int64_t> g_wait_tests{0};

// Completes a non-blocking collective without spinning: a rank that waits
// for slower ranks (a barrier, an agreement after a chunk) sleeps between
// tests, from 20 us doubling to 1 ms, instead of polling MPI on a core that
// the ranks still computing, or their compute threads, need. MPI_Wait
// would busy-poll: the ranks of a job often share a node's cores with
// threads of their own (recon_job.cpp's pipeline).
void wait_patiently(MPI_Request& request) {
  int done = 0;
  g_wait_tests.fetch_add(1, std::memory_order_relaxed);
  MPI_Test(&request, &done, MPI_STATUS_IGNORE);
  for (long us = 20; !done; us = std::min(us * 2, 1000L)) {
    std::this_thread::sleep_for(std::chrono::microseconds(us));
    g_wait_tests.fetch_add(1, std::memory_order_relaxed);
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
  }
}

// Doorbells: when every rank of a communicator is on one node, each rank
// has a counter in memory the ranks share (POSIX shared memory, mapped once
// a communicator), the number of barrier()/agree() waits it has entered. A
// rank that enters one posts its collective, rings (stores its count, wakes
// the futex) and sleeps in the kernel on each other rank's counter until
// that rank has entered the same wait too; only then does it test MPI,
// sleeping from 20 us as above, which then completes within microseconds.
// So a rank that waits a whole round for a slower one is woken once instead
// of about every millisecond (1,000 wake-ups a second on the core its own
// compute thread needs: 0.05-0.19 s of CPU a 512x360x512 run), and it is
// woken as soon as the last rank arrives rather than at its next 1 ms tick.
// Ranks on several nodes keep the sleeping tests alone.
constexpr std::size_t kSlot = 64;  // one cache line a rank

struct Doorbells {
  void* map = MAP_FAILED;
  std::size_t bytes = 0;
  int size = 0;
  std::uint32_t entered = 0;  // this rank's count of waits entered
  std::atomic<std::uint32_t>* slot(int rank) const {
    return reinterpret_cast<std::atomic<std::uint32_t>*>(static_cast<char*>(map) + std::size_t(rank) * kSlot);
  }
};

int free_doorbells(MPI_Comm, int, void* value, void*) {
  auto* d = static_cast<Doorbells*>(value);
  if (d && d->map != MAP_FAILED) ::munmap(d->map, d->bytes);
  delete d;
  return MPI_SUCCESS;
}

int doorbell_keyval() {
  static const int keyval = [] {
    int k = MPI_KEYVAL_INVALID;
    MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, free_doorbells, &k, nullptr);
    return k;
  }();
  return keyval;
}

// The communicator's doorbells, made by its first barrier() or agree() on
// every rank (a collective: every rank reaches it at the same call); null
// when its ranks span nodes or the shared memory cannot be had on any rank.
Doorbells* doorbells(MPI_Comm comm, int rank, int size) {
  const int keyval = doorbell_keyval();
  void* value = nullptr;
  int found = 0;
  MPI_Comm_get_attr(comm, keyval, &value, &found);
  if (found) return static_cast<Doorbells*>(value);
  Doorbells* made = nullptr;
  MPI_Comm node = MPI_COMM_NULL;
  MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  int node_size = 0;
  MPI_Comm_size(node, &node_size);
  MPI_Comm_free(&node);
  if (node_size == size && size > 1) {
    static std::atomic<unsigned> made_here{0};
    char name[64] = {};
    if (rank == 0)
      std::snprintf(name, sizeof name, "/beamflow-comm.%ld.%u", long(::getpid()), made_here.fetch_add(1));
    MPI_Bcast(name, sizeof name, MPI_CHAR, 0, comm);
    const std::size_t bytes = std::size_t(size) * kSlot;
    const int fd = rank == 0 ? ::shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
    int ok = rank != 0 || (fd >= 0 && ::ftruncate(fd, off_t(bytes)) == 0);
    MPI_Bcast(&ok, 1, MPI_INT, 0, comm);  // the others open it once it has its size
    const int opened = rank == 0 ? fd : ok ? ::shm_open(name, O_RDWR | O_CLOEXEC, 0) : -1;
    void* map = opened >= 0 ? ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, opened, 0) : MAP_FAILED;
    if (opened >= 0) ::close(opened);
    int mapped = map != MAP_FAILED, all = 0;
    MPI_Allreduce(&mapped, &all, 1, MPI_INT, MPI_MIN, comm);  // also: every rank has opened it
    if (rank == 0 && fd >= 0) ::shm_unlink(name);
    if (all) {
      made = new Doorbells;
      made->map = map;
      made->bytes = bytes;
      made->size = size;
    } else if (map != MAP_FAILED) {
      ::munmap(map, bytes);
    }
  }
  if (!made) made = new Doorbells;  // remembered as none
  MPI_Comm_set_attr(comm, keyval, made);
  return made;
}

// After this rank has posted the wait's collective: rings its doorbell and
// sleeps until every other rank has rung for the same wait.
std::uint32_t ring(Doorbells& d, int rank) {
  const std::uint32_t n = ++d.entered;
  auto* mine = d.slot(rank);
  mine->store(n, std::memory_order_release);
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(mine), FUTEX_WAKE, INT32_MAX, nullptr, nullptr, 0);
  return n;
}

void ring_and_wait(Doorbells& d, int rank) {
  const std::uint32_t n = ring(d, rank);
  for (int r = 0; r < d.size; ++r) {
    if (r == rank) continue;
    auto* theirs = d.slot(r);
    for (std::uint32_t seen; std::int32_t((seen = theirs->load(std::memory_order_acquire)) - n) < 0;) {
      // A rank that died ends the job (the launcher kills the others); the
      // timeout only bounds a wake-up lost to anything unforeseen.
      const timespec limit{0, 200'000'000};
      ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(theirs), FUTEX_WAIT, seen, &limit, nullptr, 0);
    }
  }
}

// Completes the collective just posted on `comm` (see above).
void wait_for_ranks(MPI_Request& request, MPI_Comm comm, int rank, int size) {
  if (Doorbells* d = doorbells(comm, rank, size); d && d->size > 0) {
    int done = 0;
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    g_wait_tests.fetch_add(1, std::memory_order_relaxed);
    if (done) {
      ring(*d, rank);  // still: the others wait for this rank's count
      return;
    }
    ring_and_wait(*d, rank);
  }
  wait_patiently(request);
}
}  // namespace

std::int64_t collective_wait_tests() noexcept { return g_wait_tests.load(std::memory_order_relaxed); }

// Every collective of a serial Comm is the one-rank result, without MPI.
void Comm::barrier() const {
  if (!m_comm) return;
  doorbells(*m_comm, m_rank, m_size);  // made before the collective is posted
  MPI_Request request;
  MPI_Ibarrier(*m_comm, &request);
  wait_for_ranks(request, *m_comm, m_rank, m_size);
}

std::int64_t Comm::max(std::int64_t value) const {
  if (!m_comm) return value;
  std::int64_t out = 0;
  MPI_Allreduce(&value, &out, 1, MPI_INT64_T, MPI_MAX, *m_comm);
  return out;
}

std::int64_t Comm::sum(std::int64_t value) const {
  if (!m_comm) return value;
  std::int64_t out = 0;
  MPI_Allreduce(&value, &out, 1, MPI_INT64_T, MPI_SUM, *m_comm);
  return out;
}

double Comm::max(double value) const {
  if (!m_comm) return value;
  double out = 0;
  MPI_Allreduce(&value, &out, 1, MPI_DOUBLE, MPI_MAX, *m_comm);
  return out;
}

void Comm::sum_in_place(std::vector<double>& values) const {
  if (!m_comm) return;
  MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_DOUBLE, MPI_SUM, *m_comm);
}

std::string Comm::broadcast(const std::string& value, int root) const {
  if (!m_comm) return value;
  std::int64_t size = static_cast<std::int64_t>(value.size());
  MPI_Bcast(&size, 1, MPI_INT64_T, root, *m_comm);
  std::string out = m_rank == root ? value : std::string(static_cast<std::size_t>(size), '\0');
  MPI_Bcast(out.data(), static_cast<int>(size), MPI_CHAR, root, *m_comm);
  return out;
}

std::vector<std::string> Comm::gather(const std::string& value, int root) const {
  if (!m_comm) return {value};
  const auto n = static_cast<std::size_t>(m_size);
  int mine = static_cast<int>(value.size());
  std::vector<int> lengths(n), offsets(n);
  MPI_Gather(&mine, 1, MPI_INT, lengths.data(), 1, MPI_INT, root, *m_comm);
  int total = 0;
  for (std::size_t r = 0; r < n; ++r) {
    offsets[r] = total;
    total += lengths[r];
  }
  const bool here = m_rank == root;
  std::string all(here ? static_cast<std::size_t>(total) : 0, '\0');
  MPI_Gatherv(value.data(), mine, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR, root, *m_comm);
  std::vector<std::string> out;
  if (!here) return out;
  for (std::size_t r = 0; r < n; ++r)
    out.push_back(all.substr(static_cast<std::size_t>(offsets[r]), static_cast<std::size_t>(lengths[r])));
  return out;
}

namespace {
// A step that failed with something other than a beamflow::Error. The ids and
// the ASL name are stable (docs/errors.md) and keep the spelling they had
// when only tomography used this layer.
constexpr const char* kKernelAsl = "Tomo.KernelError";

// The error of a failed step as a beamflow::Error, whatever was thrown.
Error as_error(std::exception_ptr outcome) {
  try {
    std::rethrow_exception(outcome);
  } catch (const Error& e) {
    return e;
  } catch (const std::bad_alloc&) {
    return Error("tomo.memory", kKernelAsl, "out of memory; lower --chunk-rows or --memory-budget-mib");
  } catch (const std::exception& e) {
    return Error("tomo.internal", kKernelAsl, e.what());
  } catch (...) {
    return Error("tomo.internal", kKernelAsl, "unknown exception");
  }
}

std::string serialize(const Error& e) {
  Json context = Json::array();
  for (const auto& [key, value] : e.context()) context.push_back({key, value});
  return Json{{"id", e.id()},
              {"asl", e.asl_name()},
              {"message", e.message()},
              {"context", context},
              {"retryable", e.retryable()}}
      .dump();
}

Error deserialize(const std::string& text) {
  const Json j = Json::parse(text);
  Error::Context context;
  for (const auto& pair : j.at("context"))
    context.emplace_back(pair.at(0).get<std::string>(), pair.at(1).get<std::string>());
  return Error(j.at("id").get<std::string>(), j.at("asl").get<std::string>(),
               j.at("message").get<std::string>(), std::move(context), j.at("retryable").get<bool>());
}
}  // namespace

void Comm::agree(const std::function<void()>& step) const {
  std::exception_ptr outcome;
  try {
    step();
  } catch (...) {
    outcome = std::current_exception();
  }
  agree(outcome);
}

void Comm::agree(std::exception_ptr outcome) const {
  int mine = outcome ? m_rank : m_size;
  int first = mine;
  if (m_comm) {
    doorbells(*m_comm, m_rank, m_size);  // made before the collective is posted
    MPI_Request request;
    MPI_Iallreduce(&mine, &first, 1, MPI_INT, MPI_MIN, *m_comm, &request);
    wait_for_ranks(request, *m_comm, m_rank, m_size);
  }
  if (first == m_size) return;
  std::string text;
  if (m_rank == first) text = serialize(as_error(outcome));
  throw deserialize(broadcast(text, first));
}

}  // namespace beamflow::parallel
