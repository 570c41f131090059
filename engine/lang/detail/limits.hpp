#pragma once
// Hard limits of the flow language. Each one turns hostile or runaway input
// into a clean error or problem instead of deep recursion or unbounded work.
// Where AWS Step Functions documents a limit we take its value.
#include <cstddef>

namespace beamflow::lang::detail {

// Longest path text accepted ("$.a.b..."); longer text is a syntax error.
inline constexpr std::size_t kMaxPathLength = 4096;
// Deepest nesting of Choice rules (And/Or/Not) and of payload templates.
inline constexpr std::size_t kMaxNesting = 256;
// AWS: "You can nest up to 10 intrinsic functions within a field"; its
// example counts every call in the field, so we cap the calls per expression.
inline constexpr std::size_t kMaxIntrinsicCalls = 10;
// Longest intrinsic expression text.
inline constexpr std::size_t kMaxIntrinsicLength = 64 * 1024;
// AWS: Base64Encode/Base64Decode/Hash inputs "can't exceed 10,000 characters".
inline constexpr std::size_t kMaxCodecChars = 10000;
// AWS: States.ArrayRange "can't contain more than 1000 items".
inline constexpr std::size_t kMaxRangeItems = 1000;
// Deepest JSON value an intrinsic renders or parses (Format, StringToJson,
// JsonToString), so recursion over user data stays bounded.
inline constexpr std::size_t kMaxDataDepth = 512;
// Longest excerpt of user data or text quoted in an error message.
inline constexpr std::size_t kMaxQuoted = 200;

}  // namespace beamflow::lang::detail
