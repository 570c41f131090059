#include "parallel/mpi_settings.hpp"

#include <gtest/gtest.h>

#include <map>

namespace beamflow::parallel {
namespace {

using Env = std::map<std::string, std::string>;
using Settings = std::vector<std::pair<std::string, std::string>>;

Settings defaults(const Env& env) {
  return open_mpi_defaults([&](const char* name) -> std::optional<std::string> {
    const auto it = env.find(name);
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  });
}

TEST(OpenMpiDefaults, AJobOnOneNodeUsesOb1) {
  EXPECT_EQ(defaults({{"OMPI_COMM_WORLD_SIZE", "2"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}}),
            (Settings{{"OMPI_MCA_pml", "ob1"}}));
}

TEST(OpenMpiDefaults, TheUsersChoiceAndOtherJobsAreLeftAlone) {
  // mpirun -mca pml ucx (or OMPI_MCA_pml in the environment)
  EXPECT_TRUE(defaults({{"OMPI_COMM_WORLD_SIZE", "2"},
                        {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"},
                        {"OMPI_MCA_pml", "ucx"}})
                  .empty());
  // ranks on several nodes: the site's fabric
  EXPECT_TRUE(defaults({{"OMPI_COMM_WORLD_SIZE", "4"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}}).empty());
  // not started by Open MPI's launcher (srun, MPICH, no launcher)
  EXPECT_TRUE(defaults({{"PMI_SIZE", "2"}}).empty());
  EXPECT_TRUE(defaults({}).empty());
}

}  // namespace
}  // namespace beamflow::parallel
