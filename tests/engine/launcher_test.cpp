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

// What a nested mpiexec (a pilot rank's multi-rank task) must not inherit:
// the environment Open MPI gives a rank (a real one, abridged), PMIx's, PMI's
// and Slurm's; the user's own settings stay.
TEST(Launcher, ANestedLaunchDropsTheLaunchersEnvironment) {
  const NestedLaunch n = nested_launch({"OMPI_COMM_WORLD_RANK=1", "OMPI_MCA_orte_hnp_uri=123.0;tcp://10.0.0.1:4242",
                                        "OMPI_MCA_ess=pmi", "OMPI_MCA_pmix=^s1,s2", "OMPI_MCA_initial_wdir=/w",
                                        "OMPI_MCA_shmem_RUNTIME_QUERY_hint=mmap", "OMPI_ARGV=", "PMIX_RANK=1",
                                        "PMIX_SERVER_URI3=pmix-server.1;tcp4://127.0.0.1:1", "PMI_FD=5",
                                        "MPI_LOCALRANKID=0", "SLURM_JOB_ID=42", "SLURM_STEP_ID=0",
                                        "OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1",
                                        "OMPI_MCA_btl=^openib", "PATH=/usr/bin", "HOME=/root", "PMIXED=1"});
  EXPECT_EQ(n.unset, (std::vector<std::string>{"OMPI_COMM_WORLD_RANK", "OMPI_MCA_orte_hnp_uri", "OMPI_MCA_ess",
                                               "OMPI_MCA_pmix", "OMPI_MCA_initial_wdir",
                                               "OMPI_MCA_shmem_RUNTIME_QUERY_hint", "OMPI_ARGV", "PMIX_RANK",
                                               "PMIX_SERVER_URI3", "PMI_FD", "MPI_LOCALRANKID", "SLURM_JOB_ID",
                                               "SLURM_STEP_ID"}));
  EXPECT_EQ(n.set.at("OMPI_MCA_rmaps_base_oversubscribe"), "1");
  EXPECT_EQ(n.argv, (std::vector<std::string>{"mpiexec", "-np", "1"}));
  EXPECT_TRUE(nested_launch({"PATH=/usr/bin"}).unset.empty());
  // Ranks on one host, the pilot's usual case: mpiexec on this node.
  EXPECT_EQ(nested_launch({"SLURM_JOB_ID=42"}, {2, {"node1", "node1"}, "mpiexec"}).argv,
            (std::vector<std::string>{"mpiexec", "-np", "2"}));
}

// Ranks a pilot placed on several nodes of a Slurm allocation: a job step of
// that allocation over exactly those nodes, which keeps what srun needs to
// find its job and drops the rest of the step the rank runs in.
TEST(Launcher, ANestedLaunchOverNodesIsAJobStepOfTheAllocation) {
  const std::vector<std::string> env = {"SLURM_JOB_ID=42", "SLURM_JOBID=42", "SLURM_CONF=/etc/slurm.conf",
                                        "SLURM_STEP_ID=0", "SLURM_NTASKS=6", "OMPI_COMM_WORLD_RANK=1",
                                        "PMIX_RANK=1", "PATH=/usr/bin"};
  const NestedLaunch spread = nested_launch(env, {2, {"node1", "node3"}, "mpiexec"});
  EXPECT_EQ(spread.argv, (std::vector<std::string>{"srun", "--overlap", "--mpi=pmix", "--kill-on-bad-exit=1",
                                                   "--nodelist=node1,node3", "-N", "2", "-n", "2",
                                                   "--ntasks-per-node=1"}));
  EXPECT_EQ(spread.unset,
            (std::vector<std::string>{"SLURM_STEP_ID", "SLURM_NTASKS", "OMPI_COMM_WORLD_RANK", "PMIX_RANK"}));
  EXPECT_TRUE(spread.set.empty());
  // Uneven: no --ntasks-per-node; hosts in the order of their first rank.
  EXPECT_EQ(nested_launch(env, {3, {"node2", "node2", "node1"}, "mpiexec"}).argv,
            (std::vector<std::string>{"srun", "--overlap", "--mpi=pmix", "--kill-on-bad-exit=1",
                                      "--nodelist=node2,node1", "-N", "2", "-n", "3"}));
  // Outside Slurm: Open MPI's own launch with the hosts named.
  const NestedLaunch plain = nested_launch({"PATH=/usr/bin"}, {3, {"a", "b", "b"}, "mpiexec"});
  EXPECT_EQ(plain.argv, (std::vector<std::string>{"mpiexec", "-np", "3", "--host", "a:1,b:2"}));
}

}  // namespace
}  // namespace beamflow::platform
