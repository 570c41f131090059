// Choice rule evaluation: a pure function of (input, context). Comparisons
// never coerce: a value of the wrong type makes the comparison false.
#include <string>

#include "core/error.hpp"
#include "lang/choice.hpp"
#include "lang/detail/choice_node.hpp"
#include "lang/detail/json_util.hpp"
#include "lang/detail/text.hpp"

namespace beamflow::lang {
namespace {

using Node = ChoiceRule::Node;
using detail::Family;
using detail::Relation;

// A path's value, or nullopt when it matches nothing (an indefinite path
// that yields an empty array matches nothing too).
std::optional<Json> lookup(const Path& path, const Json& input, const Json& context) {
  auto hit = path.select(input, context);
  if (hit && !path.is_definite() && hit->empty()) return std::nullopt;
  return hit;
}

// AWS's message, word for word, so flows that match on Cause keep working.
[[noreturn]] void invalid_path(const Path& path) {
  throw Error("lang.choice.invalid_path", states_error::Runtime,
              "Invalid path " + detail::quoted(path.text()) +
                  ": The choice state's condition path references an invalid value.");
}

bool holds(Relation relation, std::partial_ordering order) {
  switch (relation) {
    case Relation::Eq: return order == 0;
    case Relation::Lt: return order < 0;
    case Relation::Gt: return order > 0;
    case Relation::Le: return order <= 0;
    case Relation::Ge: return order >= 0;
  }
  return false;
}

std::optional<Instant> instant_of(const Json& v) {
  if (!v.is_string()) return std::nullopt;
  return parse_instant(v.get_ref<const std::string&>());
}

bool type_test(Family family, const Json& v) {
  switch (family) {
    case Family::IsNull: return v.is_null();
    case Family::IsNumeric: return v.is_number();
    case Family::IsString: return v.is_string();
    case Family::IsBoolean: return v.is_boolean();
    case Family::IsTimestamp: return instant_of(v).has_value();
    default: return false;
  }
}

bool compare(const Node& node, const Json& value, const Json& operand) {
  const detail::Operator& op = *node.op;
  std::partial_ordering order = std::partial_ordering::unordered;
  switch (op.family) {
    case Family::String:
      if (!value.is_string() || !operand.is_string()) return false;
      order = detail::compare_utf16(value.get_ref<const std::string&>(),
                                    operand.get_ref<const std::string&>()) <=> 0;
      break;
    case Family::Numeric:
      if (!value.is_number() || !operand.is_number()) return false;
      order = detail::compare_numbers(value, operand);
      break;
    case Family::Boolean: return value.is_boolean() && operand.is_boolean() && value == operand;
    case Family::Timestamp: {
      const auto lhs = instant_of(value);
      const auto rhs = node.instant && !op.path ? node.instant : instant_of(operand);
      if (!lhs || !rhs) return false;
      order = *lhs <=> *rhs;
      break;
    }
    case Family::Matches:
      return value.is_string() && string_matches(value.get_ref<const std::string&>(),
                                                 operand.get_ref<const std::string&>());
    default: return false;
  }
  return holds(op.relation, order);
}

[[noreturn]] void uncompiled() {
  throw Error("lang.choice.uncompiled", states_error::Runtime,
              "a choice rule that failed to compile was evaluated (its problems were ignored)");
}

bool evaluate_node(const Node& node, const Json& input, const Json& context) {
  const bool complete = node.kind == Node::Kind::Compare
                            ? node.op && node.variable && (!node.op->path || node.operand_path)
                            : !node.children.empty();
  if (!complete) uncompiled();
  switch (node.kind) {
    case Node::Kind::And:
      for (const Node& c : node.children) {
        if (!evaluate_node(c, input, context)) return false;
      }
      return true;
    case Node::Kind::Or:
      for (const Node& c : node.children) {
        if (evaluate_node(c, input, context)) return true;
      }
      return false;
    case Node::Kind::Not: return !evaluate_node(node.children.front(), input, context);
    case Node::Kind::Compare: break;
  }
  const auto value = lookup(*node.variable, input, context);
  const Family family = node.op->family;
  if (family == Family::IsPresent) return value.has_value() == node.operand.get<bool>();
  if (!value) invalid_path(*node.variable);
  if (detail::is_type_test(family)) return type_test(family, *value) == node.operand.get<bool>();
  if (!node.op->path) return compare(node, *value, node.operand);
  const auto operand = lookup(*node.operand_path, input, context);
  if (!operand) invalid_path(*node.operand_path);
  return compare(node, *value, *operand);
}

// One pattern unit: '*' (unescaped) or a literal byte, with its width.
struct Unit {
  bool star;
  char c;
  std::size_t width;
};

Unit unit_at(std::string_view pattern, std::size_t p) {
  if (pattern[p] == '*') return {true, '*', 1};
  if (pattern[p] == '\\' && p + 1 < pattern.size()) return {false, pattern[p + 1], 2};
  return {false, pattern[p], 1};
}

}  // namespace

bool ChoiceRule::evaluate(const Json& input, const Json& context) const {
  if (!m_root) uncompiled();
  return evaluate_node(*m_root, input, context);
}

// Greedy glob match with one backtrack point (the last '*'): linear in
// practice, O(n*m) at worst, no recursion. Bytewise is safe for UTF-8 since
// literals are whole characters.
bool string_matches(std::string_view value, std::string_view pattern) {
  std::size_t v = 0, p = 0;
  std::size_t star_p = std::string_view::npos, star_v = 0;
  while (v < value.size()) {
    if (p < pattern.size()) {
      const Unit u = unit_at(pattern, p);
      if (u.star) {
        star_p = p;
        star_v = v;
        ++p;
        continue;
      }
      if (u.c == value[v]) {
        ++v;
        p += u.width;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p + 1;
    v = ++star_v;
  }
  while (p < pattern.size() && unit_at(pattern, p).star) ++p;
  return p == pattern.size();
}

}  // namespace beamflow::lang
