// One test main for every rank count (CONVENTIONS rule 6): run alone it is
// one rank; CTest also runs it under mpirun with 2 and 4 ranks. Only rank 0
// prints; the exit code is the worst over the ranks.
#include <gtest/gtest.h>

#include "parallel/runtime.hpp"

int main(int argc, char** argv) {
  beamflow::parallel::ParallelRuntime runtime(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  if (!runtime.world().is_root()) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  const int result = RUN_ALL_TESTS();
  return static_cast<int>(runtime.world().max(std::int64_t{result}));
}
