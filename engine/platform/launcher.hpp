#pragma once
// What a parallel launcher (mpirun/mpiexec of Open MPI, MPICH or Intel MPI,
// PMIx, Slurm's srun) told this process through its environment: the one
// place that reads those variables, usable before MPI is initialised.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace beamflow::platform {

struct LaunchInfo {
  int rank = 0;        // this process's rank in the job (0 when not launched)
  int size = 1;        // processes the launcher started (1 when not launched)
  std::string source;  // "openmpi", "pmix", "pmi", "slurm", or "" when not launched
  bool launched() const noexcept { return !source.empty(); }
};

// Reads a variable; std::getenv by default, a map in tests.
using EnvLookup = std::function<std::optional<std::string>(const char* name)>;

// The launcher's view, from the first family that sets a rank or a size, in
// this order: Open MPI (OMPI_COMM_WORLD_RANK/SIZE), PMIx (PMIX_RANK with
// PMIX_SIZE, else the job size Open MPI or Slurm gives), PMI-1/2 of MPICH,
// Intel MPI and srun --mpi=pmi2 (PMI_RANK/PMI_SIZE), and Slurm itself
// (SLURM_PROCID/SLURM_NTASKS, only inside a step: SLURM_STEP_ID set, since
// an sbatch script's environment has SLURM_NTASKS but is one process).
// Malformed or out-of-range values are ignored (rank 0, size 1), and a rank
// never reaches the size.
LaunchInfo launch_info(const EnvLookup& env);
LaunchInfo launch_info();  // of this process

// This node's name as the resource manager knows it: the one name a worker
// reports for placement and `srun --nodelist` uses. Slurm's SLURMD_NODENAME
// (set for a batch script and every task of a step) when set, else the host
// name (gethostname). They differ where hosts are named, say,
// nid001234.hsn.cluster while Slurm's node is nid001234.
std::string node_name(const EnvLookup& env);
std::string node_name();  // of this process

// Whether a launcher sets `name` for the processes it starts, so that a
// launch made from inside one of them (`mpiexec` started by a pilot's rank)
// must not inherit it: Open MPI's OMPI_* (but OMPI_ALLOW_RUN_AS_ROOT* and the
// user's own OMPI_MCA_* settings, except those of its runtime: orte_*, ess*,
// pmix*, initial_wdir, shmem_*), PMIX_*, PMI_* and MPICH's MPI_LOCALNRANKS /
// MPI_LOCALRANKID, and every SLURM_* (a nested launch that saw the
// allocation would map ranks onto the job's other nodes and start them with
// an srun step that waits for CPUs the pilot's own step holds).
// Open MPI's mpiexec refuses to start under an inherited environment ("mpiexec
// does not support recursive calls", exit 1).
bool set_by_launcher(std::string_view name);

// A nested launch: a job of `ranks` ranks started by a process a launcher
// may have started (a pilot's rank running a multi-rank task). `hosts` names
// the node of each rank (rank 0's first), as the pilot placed them; empty or
// a single host: all on this node.
struct NestedJob {
  int ranks = 1;
  std::vector<std::string> hosts;
  std::string mpiexec = "mpiexec";
};

// How to start it: `argv`, the launcher and its options (the program and its
// arguments follow), and what changes in the environment it inherits:
// `unset`, the variables of that environment that set_by_launcher() names,
// and `set`.
// - On this node: `mpiexec -np R`, every launcher variable unset, and Open
//   MPI's oversubscription set (the R ranks run here whatever the core count;
//   other MPIs ignore it). The ranks of a pilot's multi-rank task are the
//   pilot's own, idle while the task runs.
// - Over several nodes, inside a Slurm allocation (SLURM_JOB_ID set): a job
//   step of that allocation, `srun --overlap --mpi=pmix --nodelist=H1,H2..
//   -N n -n R` (--overlap: the pilot's own step holds the nodes' CPUs;
//   --ntasks-per-node when every node has as many ranks), keeping the
//   allocation's SLURM_JOB_ID, SLURM_JOBID and SLURM_CONF so srun finds its
//   job, and unsetting the step's other variables.
// - Over several nodes without Slurm: `mpiexec -np R --host H1:k1,H2:k2`
//   (Open MPI reaches the other nodes its own way, e.g. ssh).
struct NestedLaunch {
  std::vector<std::string> argv;
  std::vector<std::string> unset;
  std::map<std::string, std::string> set;
};
NestedLaunch nested_launch(const std::vector<std::string>& environment,
                           const NestedJob& job = {});  // "NAME=VALUE" entries
NestedLaunch nested_launch(const NestedJob& job = {});   // of this process

}  // namespace beamflow::platform
