// The action registry of the beamflow executable: the engine's built-ins and
// the science actions of jobs/.
#include "apps/beamflow/common.hpp"
#include "jobs/catalog/catalog_actions.hpp"
#include "jobs/models/infer_action.hpp"
#include "jobs/tomography/tomography_actions.hpp"
#include "jobs/transfer/transfer_action.hpp"

namespace beamflow::cli {

const actions::ActionRegistry& action_registry() {
  static const actions::ActionRegistry registry = [] {
    actions::ActionRegistry r;
    actions::register_builtin_actions(r);
    models::register_model_actions(r);
    jobs::register_tomography_actions(r);
    transfer::register_transfer_actions(r);
    catalog::register_catalog_actions(r);
    return r;
  }();
  return registry;
}

}  // namespace beamflow::cli
