#pragma once
// Actions run as child processes: `beamflow __action NAME STATE_DIR`, under
// `mpiexec -np R` when the action's Placement asks for R > 1 ranks, started
// and watched by the same crash-proof supervisor as `command`
// (supervised.hpp): durable outcome, re-attached after a crash of the engine,
// never run twice. The arguments travel as the JSON request they are:
//   state_dir/request.json   the ActionRequest (input, ids, run and work dirs)
//   state_dir/child/         the child's own state_dir
//   state_dir/child/result.json  its outcome, written by rank 0
// and everything else is the supervisor's (spec.json, started, lock,
// stdout, stderr, result.json: the outcome the engine reads).
#include <filesystem>
#include <string>

#include "actions/action.hpp"
#include "actions/command_spec.hpp"

namespace beamflow::actions::child {

// The hidden subcommand name: `beamflow __action NAME STATE_DIR`.
inline constexpr const char* kActionCommand = "__action";

// The executable a child runs: $BEAMFLOW_EXE, else this process's.
std::filesystem::path executable();
// The MPI launcher for R > 1 ranks: $BEAMFLOW_MPIEXEC, else "mpiexec".
std::string mpiexec();

// Writes request.json and returns the supervisor's spec for `action`'s
// request `r` placed as `p`.
command::CommandSpec prepare(const std::string& action, const ActionRequest& r, const Placement& p);

// Launches (once) or re-attaches, without blocking: Active until the
// supervisor records the outcome.
ActionState drive(const std::string& action, const ActionRequest& r, const Placement& p);
// The same, blocking until the outcome (for a direct, synchronous run()).
ActionState run_and_wait(const std::string& action, const ActionRequest& r, const Placement& p);
// Waits for the outcome (up to the kill grace + 2 s): direct callers only.
ActionState cancel(const ActionRequest& r);
// Asks and returns at once (supervised::request_cancel): the driver's cancel.
ActionState request_cancel(const ActionRequest& r);

// Entry point of `__action` (`args`: NAME STATE_DIR): reads request.json,
// runs registry's NAME with Action::run_in_child on every rank, and has rank
// `rank` 0 record the outcome. Returns 0 when an outcome was recorded, 2 on
// bad usage, 1 otherwise.
int action_main(const ActionRegistry& registry, const std::vector<std::string>& args, int rank);

}  // namespace beamflow::actions::child
