#include "lang/detail/json_util.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

namespace beamflow::lang::detail {

const char* type_name(const Json& value) noexcept {
  switch (value.type()) {
    case Json::value_t::string: return "string";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float: return "number";
    case Json::value_t::boolean: return "boolean";
    case Json::value_t::null: return "null";
    case Json::value_t::array: return "array";
    case Json::value_t::object: return "object";
    default: return "binary";
  }
}

std::string a_type(const Json& value) {
  const std::string name = type_name(value);
  if (value.is_null()) return name;
  return (value.is_array() || value.is_object() ? "an " : "a ") + name;
}

std::partial_ordering compare_numbers(const Json& a, const Json& b) noexcept {
  // long double holds every int64 and uint64 exactly on x86-64, so a mixed
  // comparison never rounds two distinct integers together. Same-kind
  // integers compare natively to stay exact on every platform.
  if (a.is_number_integer() && b.is_number_integer() && !a.is_number_unsigned() &&
      !b.is_number_unsigned()) {
    return a.get<std::int64_t>() <=> b.get<std::int64_t>();
  }
  if (a.is_number_unsigned() && b.is_number_unsigned()) {
    return a.get<std::uint64_t>() <=> b.get<std::uint64_t>();
  }
  const auto as_long_double = [](const Json& v) -> long double {
    if (v.is_number_unsigned()) return static_cast<long double>(v.get<std::uint64_t>());
    if (v.is_number_integer()) return static_cast<long double>(v.get<std::int64_t>());
    return static_cast<long double>(v.get<double>());
  };
  return as_long_double(a) <=> as_long_double(b);
}

bool depth_exceeds(const Json& value, std::size_t limit) {
  std::vector<std::pair<const Json*, std::size_t>> stack{{&value, 0}};
  while (!stack.empty()) {
    const auto [node, depth] = stack.back();
    stack.pop_back();
    if (!node->is_structured()) continue;
    if (depth + 1 > limit) return true;
    for (const auto& child : *node) stack.emplace_back(&child, depth + 1);
  }
  return false;
}

std::optional<int> java_round_int(const Json& number) noexcept {
  if (number.is_number_integer() || number.is_number_unsigned()) {
    if (number.is_number_unsigned()) {
      const auto u = number.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(std::numeric_limits<int>::max())) return std::nullopt;
      return static_cast<int>(u);
    }
    const auto i = number.get<std::int64_t>();
    if (i < std::numeric_limits<int>::min() || i > std::numeric_limits<int>::max()) {
      return std::nullopt;
    }
    return static_cast<int>(i);
  }
  const double rounded = std::floor(number.get<double>() + 0.5);
  if (!(rounded >= std::numeric_limits<int>::min() && rounded <= std::numeric_limits<int>::max())) {
    return std::nullopt;
  }
  return static_cast<int>(rounded);
}

}  // namespace beamflow::lang::detail
