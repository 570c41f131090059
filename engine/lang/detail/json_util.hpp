#pragma once
// JSON value helpers shared by paths, intrinsics and Choice rules.
#include <compare>
#include <cstddef>
#include <optional>
#include <string>

#include "core/json.hpp"

namespace beamflow::lang::detail {

// "string", "number", "boolean", "null", "array" or "object".
const char* type_name(const Json& value) noexcept;
// type_name with its article, for messages: "a string", "an array", "null".
std::string a_type(const Json& value);

// Exact numeric order across nlohmann's int64 / uint64 / double storage
// (1 == 1.0). Both arguments must be numbers.
std::partial_ordering compare_numbers(const Json& a, const Json& b) noexcept;

// True when `value` nests arrays/objects more than `limit` levels deep.
// Iterative, so it is safe on any input.
bool depth_exceeds(const Json& value, std::size_t limit);

// Java's Math.round (half up: floor(x + 0.5)) to a 32-bit int, the rounding
// AWS applies to non-integer arguments of the Math/Array intrinsics; nullopt
// when the number is outside the int range.
std::optional<int> java_round_int(const Json& number) noexcept;

}  // namespace beamflow::lang::detail
