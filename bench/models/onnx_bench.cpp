// Images per second of an ONNX image model on beamflow's kernels.
//   onnx_bench MODEL.onnx BATCH SECONDS   -> one JSON line
// Inputs are deterministic pseudo-random values of the model's input shape;
// the first call (allocation, page faults) is not timed.
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <random>

#include "jobs/onnx/runtime.hpp"

int main(int argc, char** argv) {
  using namespace beamflow;
  if (argc != 4) {
    std::cerr << "usage: onnx_bench MODEL.onnx BATCH SECONDS\n";
    return 2;
  }
  const int batch = std::atoi(argv[2]);
  const double seconds = std::atof(argv[3]);
  auto rt = onnx::load_onnx_runtime(argv[1]);
  models::Shape shape{batch};
  for (std::size_t d = 1; d < rt->signature().input.shape.size(); ++d) shape.push_back(*rt->signature().input.shape[d]);
  models::Tensor x(models::DType::Float32, shape);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (float& v : x.data<float>()) v = u(rng);
  rt->run(x);
  int calls = 0;
  const auto t0 = std::chrono::steady_clock::now();
  double elapsed = 0;
  while (elapsed < seconds || calls < 3) {
    rt->run(x);
    ++calls;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  std::cout << "{\"impl\": \"beamflow\", \"batch\": " << batch << ", \"images_per_s\": " << calls * batch / elapsed
            << ", \"calls\": " << calls << "}\n";
  return 0;
}
