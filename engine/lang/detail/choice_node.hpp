#pragma once
// The compiled form of a Choice rule and the table of its operators.
#include <optional>
#include <string_view>
#include <vector>

#include "core/json.hpp"
#include "lang/choice.hpp"
#include "lang/path.hpp"

namespace beamflow::lang::detail {

// What an operator compares, or which type test it is.
enum class Family {
  String,
  Numeric,
  Boolean,
  Timestamp,
  Matches,
  IsNull,
  IsPresent,
  IsNumeric,
  IsString,
  IsBoolean,
  IsTimestamp
};
enum class Relation { Eq, Lt, Gt, Le, Ge };

struct Operator {
  std::string name;  // "NumericLessThanEqualsPath"
  Family family;
  Relation relation;
  bool path;  // the operand is a path into the input
};

// The operator called `name`, or null.
const Operator* find_operator(std::string_view name);

bool is_type_test(Family f);

}  // namespace beamflow::lang::detail

namespace beamflow::lang {

struct ChoiceRule::Node {
  enum class Kind { And, Or, Not, Compare };
  Kind kind = Kind::Compare;
  std::vector<Node> children;            // And, Or, Not (one)
  const detail::Operator* op = nullptr;  // Compare
  std::optional<Path> variable;          // Compare
  Json operand;                          // literal operand; the boolean of a type test
  std::optional<Instant> instant;        // Timestamp literal, parsed once
  std::optional<Path> operand_path;      // ...Path operand
};

}  // namespace beamflow::lang
