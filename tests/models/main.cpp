// The model tests share the process's Kokkos runtime with the code under
// test (models::ensure_kokkos), which finalises it at exit.
#include <gtest/gtest.h>

#include "jobs/hdf5.hpp"
#include "jobs/models/runtime.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  beamflow::models::ensure_kokkos();
  beamflow::jobs::h5::silence_errors();
  return RUN_ALL_TESTS();
}
