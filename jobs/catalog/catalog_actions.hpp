#pragma once
// The catalog's flow actions:
//   publish  {source, metadata, collection?, visible_to?, identifier?, catalog?, storage?}
//            publishes a dataset (datasets.hpp) as the engine's user, keyed by the
//            action_id so a re-run after a crash returns the same entry. In a
//            collection that requires approval the action stays ACTIVE until a
//            curator runs `beamflow dataset approve` (SUCCEEDED) or `reject`
//            (FAILED, Dataset.Rejected).
//   search   {query, catalog?} -> the Globus Search response (to_gmeta).
#include "actions/action.hpp"

namespace beamflow::catalog {

void register_catalog_actions(actions::ActionRegistry& registry);

}  // namespace beamflow::catalog
