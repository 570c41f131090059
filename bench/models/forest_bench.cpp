// Tree-ensemble inference throughput of the forest runtime (kernels/forest.hpp)
// on an exported forest and an HDF5 batch of rows; checks the outputs
// against reference values bit for bit. Driven by forest_bench.py, which
// makes the forest and times scikit-learn, the peer, in the same run.
// Under mpirun each rank takes a block of the rows, as `beamflow model run`
// does; a run's time is the slowest rank's, between barriers.
//
//   [mpirun -np R] bench_forest FOREST.h5 DATA.h5 [--repeat N] [--x /X] [--expected /expected]
// prints one JSON line (rank 0): {"ranks", "rows", "features", "trees",
// "nodes", "seconds": [...], "best_rows_per_s", "cpu_rows_per_s", "bit_identical"}.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <iostream>
#include <string>

#include "parallel/decomposition.hpp"
#include "io/hdf5.hpp"
#include "jobs/models/forest_runtime.hpp"
#include "jobs/models/tensor_h5.hpp"
#include "parallel/runtime.hpp"

using namespace beamflow;

namespace {

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: bench_forest FOREST.h5 DATA.h5 [--repeat N] [--x /X] [--expected /expected]\n";
    return 2;
  }
  int repeat = 5;
  std::string x_name = "/X", expected_name = "/expected";
  for (int i = 3; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--repeat")
      repeat = std::stoi(argv[i + 1]);
    else if (a == "--x")
      x_name = argv[i + 1];
    else if (a == "--expected")
      expected_name = argv[i + 1];
  }
  try {
    parallel::ParallelRuntime mpi(&argc, &argv);
    const parallel::Comm& comm = mpi.world();
    const auto runtime = models::load_forest_runtime(argv[1]);
    const models::DatasetSource xs(argv[2], x_name);
    const parallel::RowRange mine = parallel::block_of(xs.rows(), comm.size(), comm.rank());
    const models::Tensor x = xs.read_rows(mine.begin, mine.size(), models::DType::Float32);
    Json seconds = Json::array();
    double best = 1e300;
    const double cpu0 = cpu_seconds();
    models::Tensor out;
    for (int r = 0; r < repeat; ++r) {
      comm.barrier();
      const auto t0 = std::chrono::steady_clock::now();
      out = runtime->run(x);
      comm.barrier();
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      seconds.push_back(s);
      best = std::min(best, s);
    }
    const double cpu = comm.max((cpu_seconds() - cpu0) / repeat);
    const models::DatasetSource es(argv[2], expected_name);
    const models::Tensor expected = es.read_rows(mine.begin, mine.size(), models::DType::Float64);
    const bool same = expected.shape() == out.shape() &&
                      std::memcmp(expected.data<double>().data(), out.data<double>().data(),
                                  sizeof(double) * out.data<double>().size()) == 0;
    const bool identical = comm.sum(std::int64_t{same ? 0 : 1}) == 0;
    const auto rows = static_cast<double>(xs.rows());
    if (comm.is_root())
      std::cout << Json{{"ranks", comm.size()},
                        {"rows", xs.rows()},
                        {"features", x.shape()[1]},
                        {"trees", runtime->describe()["trees"]},
                        {"nodes", runtime->describe()["nodes"]},
                        {"seconds", seconds},
                        {"best_rows_per_s", rows / best},
                        {"cpu_rows_per_s", rows / cpu},
                        {"bit_identical", identical}}
                       .dump()
                << std::endl;
    return identical ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "bench_forest: " << e.what() << "\n";
    return 1;
  }
}
