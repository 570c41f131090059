// Test executables that run the command action (actions_test, engine_test)
// double as the command action's supervisor executable
// (/proc/self/exe), so `actions_test __supervise DIR` must act as
// `beamflow __supervise DIR` does.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "actions/supervisor.hpp"

int main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == beamflow::actions::kSuperviseCommand) {
    return beamflow::actions::supervise_main(std::vector<std::string>(argv + 2, argv + argc));
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
