// beamflow __supervise STATE_DIR: the command action's detached supervisor
// (actions/supervisor.hpp). Hidden: only the engine starts it.
#include "actions/supervisor.hpp"
#include "apps/beamflow/subcommand.hpp"

namespace beamflow::cli {
namespace {

const Registrar registrar{{actions::kSuperviseCommand,
                           "run one command action detached from the engine (internal)",
                           actions::supervise_main, /*hidden=*/true}};

}  // namespace
}  // namespace beamflow::cli
