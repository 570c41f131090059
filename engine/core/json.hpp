#pragma once
// The one JSON value type of beamflow. Flow documents, action inputs and
// outputs, and journal payloads are all nlohmann::json values.
#include <nlohmann/json.hpp>

namespace beamflow {
using Json = nlohmann::json;
}  // namespace beamflow
