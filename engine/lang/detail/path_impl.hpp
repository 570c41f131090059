#pragma once
// The compiled form of a Path: a list of steps, each a selector applied to
// the current node (or, for a deep scan "..", to it and all its descendants).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "lang/path.hpp"

namespace beamflow::lang::detail {

// One step of a relative "@" path inside a filter: .name, ['name'] or [n].
struct RelStep {
  std::string name;
  std::int64_t index = 0;
  bool is_index = false;
};

enum class FilterOp { Exists, Eq, Ne, Lt, Le, Gt, Ge };

// "@.x OP literal" (or "@.x" alone for Exists).
struct FilterTerm {
  std::vector<RelStep> lhs;
  FilterOp op = FilterOp::Exists;
  Json literal;
};

// Disjunctive normal form of "a && b || c": any_of[i] is a conjunction.
struct Filter {
  std::vector<std::vector<FilterTerm>> any_of;
};

struct Selector {
  enum class Kind { Name, Names, Index, Indices, Wildcard, Slice, Filter };
  Kind kind = Kind::Name;
  std::vector<std::string> names;     // Name (one), Names (several)
  std::vector<std::int64_t> indices;  // Index (one), Indices (several)
  std::optional<std::int64_t> start;  // Slice
  std::optional<std::int64_t> end;    // Slice
  std::int64_t step = 1;              // Slice, always > 0
  Filter filter;                      // Filter
};

struct Step {
  bool deep = false;  // ".." before the selector
  Selector sel;
};

// Evaluates a filter term list against one candidate node.
bool filter_accepts(const Filter& filter, const Json& candidate);

// Text of the first `count` steps of a reference path, e.g. "$.a[0]", for
// messages.
std::string reference_prefix(const Path::Impl& impl, std::size_t count);

}  // namespace beamflow::lang::detail

namespace beamflow::lang {

struct Path::Impl {
  std::string text;
  bool context = false;     // "$$"
  bool definite = true;     // every step selects at most one node
  bool reference = true;    // only .name / ['name'] / [n >= 0]
  bool merge_leaf = false;  // Jayway: a final ['a','b'] builds one object
  std::vector<detail::Step> steps;
};

}  // namespace beamflow::lang
