// The end-to-end tests need no MPI in this process (the binary they drive
// starts its own); the fixture lives in cli_fixture.cpp. A reconstruct action
// with "ranks" > 1 runs under the command supervisor, whose executable is
// this one (/proc/self/exe): `__supervise` is dispatched before gtest.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "actions/supervisor.hpp"

int main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == beamflow::actions::kSuperviseCommand)
    return beamflow::actions::supervise_main(std::vector<std::string>(argv + 2, argv + argc));
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
