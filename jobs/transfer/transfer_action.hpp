#pragma once
// The `transfer` action: a verified transfer as a flow step.
//
// Input: the transfer request (request.hpp) plus "endpoints", the endpoints
// file (relative paths resolve against the run's working directory; default
// $BEAMFLOW_ENDPOINTS, else $BEAMFLOW_HOME/endpoints.json). Output: the
// transfer's summary (transfer.hpp). A bad request or endpoints file fails
// with Action.InvalidInput; every other error with its Transfer.* ASL name,
// the cause being the error's message.
//
// Synchronous, one rank; under the driver, a supervised child process
// (docs/architecture.md, "The driver"). Idempotent in the
// action_id: the outcome is recorded in the action's state_dir, next to the
// transfer's manifest, so run() after a crash either returns it or resumes
// the transfer from its verified chunks.
#include "actions/action.hpp"

namespace beamflow::transfer {

void register_transfer_actions(actions::ActionRegistry& registry);

}  // namespace beamflow::transfer
