#pragma once
// The compiled form of an intrinsic expression, and the table of functions.
// Each function receives its evaluated arguments and checks their types
// itself through the helpers below, so every failure names the function.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.hpp"
#include "lang/intrinsics.hpp"
#include "lang/path.hpp"

namespace beamflow::lang::detail {
struct FunctionSpec;
}  // namespace beamflow::lang::detail

namespace beamflow::lang {

struct Intrinsic::Node {
  enum class Kind { Literal, Path, Call };
  Kind kind = Kind::Literal;
  Json literal;  // Literal
  // For a string literal: the offsets of its unescaped "{}" pairs, the only
  // ones States.Format treats as placeholders ('\{\}' stays literal text).
  std::vector<std::size_t> placeholders;           // Literal (string)
  std::optional<lang::Path> path;                  // Path
  const detail::FunctionSpec* function = nullptr;  // Call
  std::vector<Node> args;                          // Call
};

}  // namespace beamflow::lang

namespace beamflow::lang::detail {

using Args = std::vector<Json>;
using IntrinsicImpl = Json (*)(const Intrinsic::Node& call, Args& args);

struct FunctionSpec {
  std::string_view name;  // "States.Format"
  std::size_t min_args;
  std::size_t max_args;
  IntrinsicImpl impl;
};

// The function called `name` ("States.Array"), or null.
const FunctionSpec* find_function(std::string_view name) noexcept;

// Evaluates a node (recursively; depth is bounded by kMaxIntrinsicCalls).
Json evaluate_node(const Intrinsic::Node& node, const Json& input, const Json& context);

// --- argument checks; each throws lang.intrinsic.failure naming the function.
[[noreturn]] void fail(const Intrinsic::Node& call, const std::string& what);
const std::string& string_arg(const Intrinsic::Node& call, const Args& args, std::size_t i);
const Json& array_arg(const Intrinsic::Node& call, const Args& args, std::size_t i);
const Json& object_arg(const Intrinsic::Node& call, const Args& args, std::size_t i);
// A number rounded as AWS does (Java Math.round) into the int range.
int int_arg(const Intrinsic::Node& call, const Args& args, std::size_t i);
// A string of at most kMaxCodecChars characters (the AWS limit).
const std::string& bounded_string_arg(const Intrinsic::Node& call, const Args& args, std::size_t i);

// --- the functions, grouped by file.
// intrinsics_array.cpp
Json fn_array(const Intrinsic::Node&, Args&);
Json fn_array_partition(const Intrinsic::Node&, Args&);
Json fn_array_contains(const Intrinsic::Node&, Args&);
Json fn_array_range(const Intrinsic::Node&, Args&);
Json fn_array_get_item(const Intrinsic::Node&, Args&);
Json fn_array_length(const Intrinsic::Node&, Args&);
Json fn_array_unique(const Intrinsic::Node&, Args&);
// intrinsics_text.cpp
Json fn_format(const Intrinsic::Node&, Args&);
Json fn_string_split(const Intrinsic::Node&, Args&);
Json fn_string_to_json(const Intrinsic::Node&, Args&);
Json fn_json_to_string(const Intrinsic::Node&, Args&);
Json fn_json_merge(const Intrinsic::Node&, Args&);
// intrinsics_codec.cpp
Json fn_base64_encode(const Intrinsic::Node&, Args&);
Json fn_base64_decode(const Intrinsic::Node&, Args&);
Json fn_hash(const Intrinsic::Node&, Args&);
Json fn_uuid(const Intrinsic::Node&, Args&);
Json fn_math_random(const Intrinsic::Node&, Args&);
Json fn_math_add(const Intrinsic::Node&, Args&);

}  // namespace beamflow::lang::detail
