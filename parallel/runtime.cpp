#include "parallel/runtime.hpp"

#include <Kokkos_Core.hpp>
#include <unistd.h>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include "core/error.hpp"
#include "io/hdf5.hpp"
#include "parallel/backend.hpp"
#include "parallel/mpi_settings.hpp"
#include "platform/launcher.hpp"

namespace beamflow::parallel {

struct ParallelRuntime::KokkosGuard {
  Kokkos::ScopeGuard guard{Kokkos::InitArguments{}};
};

namespace {
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// Milliseconds since this process started (exec), from the kernel's start
// time in clock ticks (10 ms resolution); -1 when unknown.
double ms_since_process_start() {
  std::ifstream in("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), {});
  const auto close = stat.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return -1;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i) {
    if (i < 22) continue;
    timespec boot{};
    if (::clock_gettime(CLOCK_BOOTTIME, &boot) != 0) return -1;
    const double started_s = std::stod(field) / double(::sysconf(_SC_CLK_TCK));
    return (double(boot.tv_sec) + double(boot.tv_nsec) * 1e-9 - started_s) * 1e3;
  }
  return -1;
}

// BEAMFLOW_TRACE_START (runtime.hpp).
void trace_start(double mpi_ms, double kokkos_ms) {
  const char* trace = std::getenv("BEAMFLOW_TRACE_START");
  if (!trace || !*trace || std::string(trace) == "0") return;
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::fprintf(stderr, "beamflow-start ready=%.6f mpi=%d mpi_ms=%.1f kokkos_ms=%.1f since_exec_ms=%.0f\n", now,
               ParallelRuntime::mpi_active() ? 1 : 0, mpi_ms, kokkos_ms, ms_since_process_start());
  std::fflush(stderr);
}
}  // namespace

bool ParallelRuntime::mpi_active() noexcept {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  return initialized && !finalized;
}

ParallelRuntime::ParallelRuntime(int* argc, char*** argv, Mpi mpi, Kernels kernels) {
  auto t = Clock::now();
  int initialized = 0;
  MPI_Initialized(&initialized);
  const bool use_mpi = initialized || mpi == Mpi::Always || platform::launch_info().launched();
  if (use_mpi && !initialized) {
    set_open_mpi_defaults();
    // FUNNELED: only the main thread calls MPI (rank 0 may hash the input
    // file on a helper thread).
    int provided = 0;
    MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    m_own_mpi = true;
    tcp_no_delay(open_tcp_sockets());  // MPI_Finalize's fence without Nagle's wait (mpi_settings.hpp)
  }
  // Errors come back through beamflow::Error, not as MPI aborts.
  if (use_mpi) MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  io::h5::silence_errors();
  const double mpi_ms = ms_since(t);
  t = Clock::now();
  if (kernels == Kernels::Kokkos) m_kokkos = std::make_unique<KokkosGuard>();
  const double kokkos_ms = ms_since(t);
  m_world = std::make_unique<Comm>(use_mpi ? Comm(MPI_COMM_WORLD) : Comm::serial());
  trace_start(mpi_ms, kokkos_ms);
}

ParallelRuntime::ParallelRuntime(Mpi mpi, Kernels kernels) : ParallelRuntime(nullptr, nullptr, mpi, kernels) {}

ParallelRuntime::~ParallelRuntime() {
  m_kokkos.reset();
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (m_own_mpi && !finalized) MPI_Finalize();
}

ParallelRuntime& ParallelRuntime::process() {
  static ParallelRuntime runtime;
  return runtime;
}

// The only place that names Kokkos backends (CONVENTIONS rule 5).
std::vector<std::string> compiled_backends() {
  std::vector<std::string> out;
#ifdef KOKKOS_ENABLE_SERIAL
  out.push_back(Kokkos::Serial::name());
#endif
#ifdef KOKKOS_ENABLE_OPENMP
  out.push_back(Kokkos::OpenMP::name());
#endif
#ifdef KOKKOS_ENABLE_THREADS
  out.push_back(Kokkos::Threads::name());
#endif
#ifdef KOKKOS_ENABLE_CUDA
  out.push_back(Kokkos::Cuda::name());
#endif
#ifdef KOKKOS_ENABLE_HIP
  out.push_back(Kokkos::Experimental::HIP::name());
#endif
  return out;
}

std::string default_backend() { return Kokkos::DefaultExecutionSpace::name(); }

namespace {
std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
}  // namespace

void require_backend(const std::string& name) {
  if (name.empty() || lower(name) == "default" || lower(name) == lower(default_backend())) return;
  std::string compiled;
  for (const auto& b : compiled_backends()) compiled += (compiled.empty() ? "" : ", ") + b;
  // Id and ASL name stable since this lived with the tomography jobs.
  throw Error("tomo.usage.backend", "Tomo.UsageError",
                    "backend '" + name + "' is not available: the kernels run on " + default_backend() +
                        " (compiled backends: " + compiled + ")",
                    {{"backend", name}});
}

}  // namespace beamflow::parallel
