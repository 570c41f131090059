#include "parallel/runtime.hpp"

#include <Kokkos_Core.hpp>
#include <cctype>

#include "parallel/backend.hpp"
#include "core/error.hpp"
#include "io/hdf5.hpp"

namespace beamflow::parallel {

struct ParallelRuntime::KokkosGuard {
  Kokkos::ScopeGuard guard{Kokkos::InitArguments{}};
};

ParallelRuntime::ParallelRuntime(int* argc, char*** argv) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    // FUNNELED: only the main thread calls MPI (rank 0 may hash the input
    // file on a helper thread).
    int provided = 0;
    MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    m_own_mpi = true;
  }
  // Errors come back through beamflow::Error, not as MPI aborts.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  io::h5::silence_errors();
  m_kokkos = std::make_unique<KokkosGuard>();
  m_world = std::make_unique<Comm>(MPI_COMM_WORLD);
}

ParallelRuntime::ParallelRuntime() : ParallelRuntime(nullptr, nullptr) {}

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
