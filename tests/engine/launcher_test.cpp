// The launcher environment (platform/launcher.hpp), read from synthetic
// environments: Open MPI, PMIx, PMI, Slurm, none, and malformed values.
#include <gtest/gtest.h>

#include <map>

#include "platform/launcher.hpp"

namespace beamflow::platform {
namespace {

LaunchInfo from(const std::map<std::string, std::string>& vars) {
  return launch_info([&](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional(it->second);
  });
}

TEST(Launcher, NotLaunched) {
  const LaunchInfo i = from({{"HOME", "/root"}});
  EXPECT_FALSE(i.launched());
  EXPECT_EQ(i.rank, 0);
  EXPECT_EQ(i.size, 1);
}

TEST(Launcher, OpenMpi) {
  const LaunchInfo i = from({{"OMPI_COMM_WORLD_RANK", "3"}, {"OMPI_COMM_WORLD_SIZE", "4"},
                             {"PMIX_RANK", "3"}, {"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "1"}});
  EXPECT_EQ(i.source, "openmpi");
  EXPECT_EQ(i.rank, 3);
  EXPECT_EQ(i.size, 4);
}

TEST(Launcher, PmixTakesTheSizeFromOpenMpiOrASlurmStep) {
  LaunchInfo i = from({{"PMIX_RANK", "1"}, {"PMIX_SIZE", "2"}});
  EXPECT_EQ(i.source, "pmix");
  EXPECT_EQ(i.rank, 1);
  EXPECT_EQ(i.size, 2);
  i = from({{"PMIX_RANK", "5"}, {"SLURM_STEP_ID", "0"}, {"SLURM_NTASKS", "8"}, {"SLURM_PROCID", "5"}});
  EXPECT_EQ(i.source, "pmix");
  EXPECT_EQ(i.rank, 5);
  EXPECT_EQ(i.size, 8);
}

TEST(Launcher, PmiOfMpichAndIntelMpi) {
  const LaunchInfo i = from({{"PMI_RANK", "2"}, {"PMI_SIZE", "6"}});
  EXPECT_EQ(i.source, "pmi");
  EXPECT_EQ(i.rank, 2);
  EXPECT_EQ(i.size, 6);
}

TEST(Launcher, SlurmOnlyInsideAStep) {
  LaunchInfo i = from({{"SLURM_PROCID", "7"}, {"SLURM_NTASKS", "16"}, {"SLURM_STEP_ID", "2"}});
  EXPECT_EQ(i.source, "slurm");
  EXPECT_EQ(i.rank, 7);
  EXPECT_EQ(i.size, 16);
  // An sbatch script: the allocation's task count, but one process.
  i = from({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "16"}, {"SLURM_JOB_ID", "42"}});
  EXPECT_FALSE(i.launched());
  EXPECT_EQ(i.size, 1);
}

TEST(Launcher, MalformedValuesAreIgnored) {
  LaunchInfo i = from({{"OMPI_COMM_WORLD_RANK", "x"}, {"OMPI_COMM_WORLD_SIZE", "-2"}});
  EXPECT_FALSE(i.launched());
  i = from({{"PMI_RANK", "1"}, {"PMI_SIZE", "4 "}});
  EXPECT_EQ(i.rank, 1);
  EXPECT_EQ(i.size, 2);  // the size unreadable: at least rank + 1
  i = from({{"PMI_RANK", "9"}, {"PMI_SIZE", "4"}});
  EXPECT_EQ(i.rank, 0);  // a rank past the size: trust neither
  EXPECT_EQ(i.size, 4);
}

}  // namespace
}  // namespace beamflow::platform
