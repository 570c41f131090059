#pragma once
// The messages between the coordinator and its workers, as JSON:
//   coordinator -> worker  {"t":"task","key","action","request","placement"}
//                          {"t":"cancel","key"}   {"t":"stop"}
//   worker -> coordinator  {"t":"hello","host"}   {"t":"done","key","state"}
//                          {"t":"beat"}           (every second)
//                          {"t":"bye"}            (after a stop)
// `key` is the task's action id; a request travels whole (its state_dir too:
// the pilot's workers share the pilot directory's file system), as
// actions::to_json(ActionRequest) writes it.
#include <string>

#include "actions/action.hpp"
#include "core/json.hpp"

namespace beamflow::pilot::wire {

Json to_json(const actions::Placement& p);
actions::Placement placement_from_json(const Json& j);
Json to_json(const actions::ActionState& s);
actions::ActionState state_from_json(const Json& j);

// Parses a message; throws pilot.wire on anything that is not a JSON object
// with a string "t".
Json parse(const std::string& bytes);

}  // namespace beamflow::pilot::wire
