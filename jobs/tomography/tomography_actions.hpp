#pragma once
// The tomography jobs as flow actions: reconstruct, find_center, preview.
//
// Input: a JSON object with the fields of the matching subcommand's options
// (jobs/requests.hpp; `beamflow recon --chunk-rows 8` is {"chunk_rows": 8});
// relative paths resolve against the run's working directory. Output: the
// job's summary (output path, centre, slices, timing, ...).
//
// The actions are synchronous and run in the engine's process on one rank
// (MPI_COMM_SELF), one at a time (HDF5 and Kokkos's Serial backend are not
// thread-safe). reconstruct also takes "ranks": N > 1 runs
// `$BEAMFLOW_MPIEXEC -np N $BEAMFLOW_EXE recon ...` instead (defaults:
// mpiexec, and this process's executable, which must then be `beamflow`),
// with its stdout and stderr kept in the action's state_dir, and reports its
// JSON summary.
//
// Idempotent in the action_id: the outcome is recorded under the action's
// state_dir, and run() after a crash either returns it or runs again, which
// resumes the reconstruction from the output's checkpoint.
#include "actions/action.hpp"

namespace beamflow::jobs {

void register_tomography_actions(actions::ActionRegistry& registry);

}  // namespace beamflow::jobs
