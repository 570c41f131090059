// beamflow __action NAME STATE_DIR: one action run as a child process of the
// supervisor, on every rank of its `mpiexec` (actions/child.hpp). Hidden:
// only the engine starts it.
#include "actions/child.hpp"
#include "apps/beamflow/common.hpp"
#include "apps/beamflow/subcommand.hpp"
#include "platform/launcher.hpp"

namespace beamflow::cli {
namespace {

const Registrar registrar{{actions::child::kActionCommand,
                           "run one action as a child process of its supervisor (internal)",
                           [](const std::vector<std::string>& args) {
                             return actions::child::action_main(action_registry(), args,
                                                                platform::launch_info().rank);
                           },
                           /*hidden=*/true}};

}  // namespace
}  // namespace beamflow::cli
