// The model tests share the process's Kokkos runtime with the code under
// test (models::ensure_kokkos), which finalises it at exit.
#include <gtest/gtest.h>

#include "io/hdf5.hpp"
#include "jobs/models/runtime.hpp"
#include "jobs/onnx/formats.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  beamflow::onnx::register_onnx_formats();
  beamflow::models::ensure_kokkos();
  beamflow::io::h5::silence_errors();
  return RUN_ALL_TESTS();
}
