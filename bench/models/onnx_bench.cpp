// Images per second of an ONNX image model on beamflow's kernels.
//
//   [mpirun -np R] onnx_bench MODEL.onnx BATCH SECONDS   -> one JSON line (rank 0)
//
// Under mpirun each rank runs its block of the batch (BATCH 16 on 2 ranks:
// 8 each), as a flow's infer action splits an image stack; a rank whose
// block is empty (BATCH 1 on 2 ranks) waits. Every call starts at a
// barrier and lasts as long as the slowest rank, so images/s = BATCH / max
// rank time. Inputs are deterministic pseudo-random values of the model's
// input shape; the first call (allocation, page faults) is not timed.
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <random>

#include "parallel/decomposition.hpp"
#include "jobs/onnx/runtime.hpp"
#include "parallel/runtime.hpp"

int main(int argc, char** argv) {
  using namespace beamflow;
  parallel::ParallelRuntime mpi(&argc, &argv);
  const parallel::Comm& comm = mpi.world();
  if (argc != 4) {
    if (comm.is_root()) std::cerr << "usage: [mpirun -np R] onnx_bench MODEL.onnx BATCH SECONDS\n";
    return 2;
  }
  const int batch = std::atoi(argv[2]);
  const double seconds = std::atof(argv[3]);
  auto rt = onnx::load_onnx_runtime(argv[1]);
  const parallel::RowRange mine = parallel::block_of(batch, comm.size(), comm.rank());
  models::Shape shape{mine.size()};
  for (std::size_t d = 1; d < rt->signature().input.shape.size(); ++d) shape.push_back(*rt->signature().input.shape[d]);
  models::Tensor x(models::DType::Float32, shape);
  std::mt19937 rng(1 + comm.rank());
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (float& v : x.data<float>()) v = u(rng);
  const auto call = [&] {
    if (mine.size() > 0) rt->run(x);
  };
  call();
  int calls = 0;
  double elapsed = 0, mine_total = 0;
  while (elapsed < seconds || calls < 3) {
    comm.barrier();
    const auto t0 = std::chrono::steady_clock::now();
    call();
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    mine_total += t;
    elapsed += comm.max(t);  // the same on every rank, so all stop together
    ++calls;
  }
  const double busiest = comm.max(mine_total);
  if (comm.is_root())
    std::cout << "{\"impl\": \"beamflow\", \"ranks\": " << comm.size() << ", \"batch\": " << batch
              << ", \"images_per_s\": " << calls * batch / elapsed << ", \"busiest_rank_images_per_s\": "
              << calls * batch / busiest << ", \"calls\": " << calls << "}\n";
  return 0;
}
