// The end-to-end tests need no MPI in this process (the binary they drive
// starts its own); the fixture lives in cli_fixture.cpp.
#include <gtest/gtest.h>

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
