// One Kokkos runtime for the whole kernels test binary.
#include <gtest/gtest.h>

#include <Kokkos_Core.hpp>

#include "kernels/common/fft.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  Kokkos::ScopeGuard kokkos(argc, argv);
  // Plan quality does not matter to correctness; measuring would dominate the run time.
  beamflow::kernels::fft::set_effort(beamflow::kernels::fft::Effort::Estimate);
  return RUN_ALL_TESTS();
}
