// The intrinsic function table and the argument checks every function uses,
// so arity and type errors read the same for all of them.
#include <algorithm>
#include <array>
#include <limits>
#include <string>

#include "core/error.hpp"
#include "lang/detail/intrinsic_node.hpp"
#include "lang/detail/json_util.hpp"
#include "lang/detail/limits.hpp"
#include "lang/detail/text.hpp"

namespace beamflow::lang::detail {
namespace {

constexpr std::size_t kAny = std::numeric_limits<std::size_t>::max();

constexpr std::array<FunctionSpec, 18> kFunctions{{
    {"States.Array", 0, kAny, fn_array},
    {"States.ArrayContains", 2, 2, fn_array_contains},
    {"States.ArrayGetItem", 2, 2, fn_array_get_item},
    {"States.ArrayLength", 1, 1, fn_array_length},
    {"States.ArrayPartition", 2, 2, fn_array_partition},
    {"States.ArrayRange", 3, 3, fn_array_range},
    {"States.ArrayUnique", 1, 1, fn_array_unique},
    {"States.Base64Decode", 1, 1, fn_base64_decode},
    {"States.Base64Encode", 1, 1, fn_base64_encode},
    {"States.Format", 1, kAny, fn_format},
    {"States.Hash", 2, 2, fn_hash},
    {"States.JsonMerge", 3, 3, fn_json_merge},
    {"States.JsonToString", 1, 1, fn_json_to_string},
    {"States.MathAdd", 2, 2, fn_math_add},
    {"States.MathRandom", 2, 3, fn_math_random},
    {"States.StringSplit", 2, 2, fn_string_split},
    {"States.StringToJson", 1, 1, fn_string_to_json},
    {"States.UUID", 0, 0, fn_uuid},
}};

std::string argument(std::size_t i) { return "argument " + std::to_string(i + 1); }

[[noreturn]] void wrong_type(const Intrinsic::Node& call, const Args& args, std::size_t i,
                             const char* wanted) {
  fail(call, argument(i) + " must be " + wanted + ", not " + a_type(args[i]));
}

}  // namespace

const FunctionSpec* find_function(std::string_view name) noexcept {
  const auto it = std::find_if(kFunctions.begin(), kFunctions.end(),
                               [name](const FunctionSpec& f) { return f.name == name; });
  return it == kFunctions.end() ? nullptr : &*it;
}

void fail(const Intrinsic::Node& call, const std::string& what) {
  throw Error("lang.intrinsic.failure", states_error::IntrinsicFailure,
              std::string(call.function->name) + ": " + what);
}

const std::string& string_arg(const Intrinsic::Node& call, const Args& args, std::size_t i) {
  if (!args[i].is_string()) wrong_type(call, args, i, "a string");
  return args[i].get_ref<const std::string&>();
}

const Json& array_arg(const Intrinsic::Node& call, const Args& args, std::size_t i) {
  if (!args[i].is_array()) wrong_type(call, args, i, "an array");
  return args[i];
}

const Json& object_arg(const Intrinsic::Node& call, const Args& args, std::size_t i) {
  if (!args[i].is_object()) wrong_type(call, args, i, "an object");
  return args[i];
}

int int_arg(const Intrinsic::Node& call, const Args& args, std::size_t i) {
  if (!args[i].is_number()) wrong_type(call, args, i, "an integer");
  const auto value = java_round_int(args[i]);
  if (!value) {
    fail(call, argument(i) + " must be an integer between -2147483648 and 2147483647, not " +
                   json_excerpt(args[i]));
  }
  return *value;
}

const std::string& bounded_string_arg(const Intrinsic::Node& call, const Args& args,
                                      std::size_t i) {
  const std::string& text = string_arg(call, args, i);
  if (utf16_length(text) > kMaxCodecChars) {
    fail(call, argument(i) + " is longer than the limit of " + std::to_string(kMaxCodecChars) +
                   " characters");
  }
  return text;
}

}  // namespace beamflow::lang::detail
