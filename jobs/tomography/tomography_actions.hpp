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
// thread-safe). reconstruct also takes "ranks": N > 1 places it in its own
// process (Action::placement): `$BEAMFLOW_MPIEXEC -np N $BEAMFLOW_EXE
// __action reconstruct STATE_DIR` (defaults: mpiexec, and this process's
// executable, which must then be `beamflow`) under the crash-proof supervisor
// of the `command` action (actions/child.hpp): the request travels as
// state_dir/request.json, the child's stdout and stderr stay in state_dir,
// the outcome is recorded durably, and a crash of the engine re-attaches to
// it instead of running it again. The engine's driver runs it without
// waiting; a direct call of run() waits for the outcome.
//
// Idempotent in the action_id: the outcome is recorded under the action's
// state_dir, and run() after a crash either returns it or runs again, which
// resumes the reconstruction from the output's checkpoint.
#include "actions/action.hpp"

namespace beamflow::jobs {

void register_tomography_actions(actions::ActionRegistry& registry);

}  // namespace beamflow::jobs
