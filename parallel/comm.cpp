#include "parallel/comm.hpp"

#include <algorithm>
#include <chrono>
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
// Completes a non-blocking collective without spinning: a rank that waits
// for slower ranks (a barrier, an agreement after a chunk) sleeps between
// tests, from 20 us doubling to 1 ms, instead of polling MPI on a core that
// the ranks still computing, or their compute threads, need. MPI_Wait
// would busy-poll: the ranks of a job often share a node's cores with
// threads of their own (recon_job.cpp's pipeline).
void wait_patiently(MPI_Request& request) {
  int done = 0;
  MPI_Test(&request, &done, MPI_STATUS_IGNORE);
  for (long us = 20; !done; us = std::min(us * 2, 1000L)) {
    std::this_thread::sleep_for(std::chrono::microseconds(us));
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
  }
}
}  // namespace

// Every collective of a serial Comm is the one-rank result, without MPI.
void Comm::barrier() const {
  if (!m_comm) return;
  MPI_Request request;
  MPI_Ibarrier(*m_comm, &request);
  wait_patiently(request);
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
    MPI_Request request;
    MPI_Iallreduce(&mine, &first, 1, MPI_INT, MPI_MIN, *m_comm, &request);
    wait_patiently(request);
  }
  if (first == m_size) return;
  std::string text;
  if (m_rank == first) text = serialize(as_error(outcome));
  throw deserialize(broadcast(text, first));
}

}  // namespace beamflow::parallel
