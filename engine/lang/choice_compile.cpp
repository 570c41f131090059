// Choice rule compilation: each rule must hold exactly one operator (a
// comparison with its Variable, a type test, or And/Or/Not), with an operand
// of the operator's type. Every problem is reported, none thrown.
#include <algorithm>
#include <string>
#include <vector>

#include "lang/choice.hpp"
#include "lang/detail/choice_node.hpp"
#include "lang/detail/json_util.hpp"
#include "lang/detail/limits.hpp"
#include "lang/detail/text.hpp"

namespace beamflow::lang {
namespace detail {
namespace {

std::vector<Operator> build_operators() {
  std::vector<Operator> ops;
  const std::pair<const char*, Relation> relations[] = {{"Equals", Relation::Eq},
                                                        {"LessThan", Relation::Lt},
                                                        {"GreaterThan", Relation::Gt},
                                                        {"LessThanEquals", Relation::Le},
                                                        {"GreaterThanEquals", Relation::Ge}};
  const std::pair<const char*, Family> ordered[] = {
      {"String", Family::String}, {"Numeric", Family::Numeric}, {"Timestamp", Family::Timestamp}};
  for (const auto& [prefix, family] : ordered) {
    for (const auto& [suffix, relation] : relations) {
      for (const bool path : {false, true}) {
        ops.push_back(
            {std::string(prefix) + suffix + (path ? "Path" : ""), family, relation, path});
      }
    }
  }
  ops.push_back({"BooleanEquals", Family::Boolean, Relation::Eq, false});
  ops.push_back({"BooleanEqualsPath", Family::Boolean, Relation::Eq, true});
  ops.push_back({"StringMatches", Family::Matches, Relation::Eq, false});
  const std::pair<const char*, Family> tests[] = {
      {"IsNull", Family::IsNull},       {"IsPresent", Family::IsPresent},
      {"IsNumeric", Family::IsNumeric}, {"IsString", Family::IsString},
      {"IsBoolean", Family::IsBoolean}, {"IsTimestamp", Family::IsTimestamp}};
  for (const auto& [name, family] : tests) ops.push_back({name, family, Relation::Eq, false});
  return ops;
}

}  // namespace

const Operator* find_operator(std::string_view name) {
  static const std::vector<Operator> kOperators = build_operators();
  const auto it = std::find_if(kOperators.begin(), kOperators.end(),
                               [name](const Operator& op) { return op.name == name; });
  return it == kOperators.end() ? nullptr : &*it;
}

bool is_type_test(Family f) { return f >= Family::IsNull; }

}  // namespace detail

namespace {

using Node = ChoiceRule::Node;
using detail::Family;

constexpr const char* kLogical[] = {"And", "Or", "Not"};

bool is_logical(const std::string& key) {
  return std::find(std::begin(kLogical), std::end(kLogical), key) != std::end(kLogical);
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// The one pattern error: a backslash escapes only '*' or another backslash.
std::optional<std::string> pattern_problem(const std::string& pattern) {
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '\\') continue;
    if (i + 1 < pattern.size() && (pattern[i + 1] == '*' || pattern[i + 1] == '\\')) {
      ++i;
      continue;
    }
    return "StringMatches pattern " + detail::quoted(pattern) + " has a backslash at offset " +
           std::to_string(i) + " that escapes neither '*' nor '\\' (write \\\\ for a backslash)";
  }
  return std::nullopt;
}

class Compiler {
 public:
  Compiler(const std::string& state, Problems& problems) : m_state(state), m_problems(problems) {}

  Node rule(const Json& r, const std::string& pointer, std::size_t depth) {
    Node node;
    if (depth > detail::kMaxNesting) {
      problem(pointer,
              "choice rules nest deeper than " + std::to_string(detail::kMaxNesting) + " levels");
      return node;
    }
    if (!r.is_object()) {
      problem(pointer, "a choice rule must be an object, not " + detail::a_type(r));
      return node;
    }
    std::vector<std::string> operators;
    for (const auto& [key, value] : r.items()) {
      if (is_logical(key) || detail::find_operator(key)) {
        operators.push_back(key);
      } else if (key == "Next") {
        // Top-level rules carry Next (the caller checks it); nested ones must not.
        if (depth > 0)
          problem(pointer_append(pointer, key), "a nested choice rule must not have Next");
      } else if (key != "Variable" && key != "Comment") {
        problem(pointer_append(pointer, key), "unknown field '" + key + "' in a choice rule");
      }
    }
    if (operators.empty()) {
      problem(pointer,
              "the choice rule has no operator: give one comparison (such as StringEquals "
              "or IsPresent) with a Variable, or And, Or or Not");
      return node;
    }
    if (operators.size() > 1) {
      problem(pointer, "the choice rule has " + std::to_string(operators.size()) + " operators (" +
                           join(operators) + "); it takes exactly one, so combine them with And");
      return node;
    }
    const std::string& name = operators.front();
    if (is_logical(name)) return logical(r, name, pointer, depth);
    return comparison(r, *detail::find_operator(name), pointer);
  }

 private:
  void problem(const std::string& pointer, std::string message) {
    m_problems.add(pointer, m_state, std::move(message));
  }

  Node logical(const Json& r, const std::string& name, const std::string& pointer,
               std::size_t depth) {
    Node node;
    const std::string at = pointer_append(pointer, name);
    if (r.contains("Variable")) {
      problem(pointer_append(pointer, "Variable"), "Variable is not allowed beside " + name);
    }
    const Json& value = r.at(name);
    if (name == "Not") {
      node.kind = Node::Kind::Not;
      if (!value.is_object()) {
        problem(at, "Not must hold one choice rule (an object), not " + detail::a_type(value));
        return node;
      }
      node.children.push_back(rule(value, at, depth + 1));
      return node;
    }
    node.kind = name == "And" ? Node::Kind::And : Node::Kind::Or;
    if (!value.is_array() || value.empty()) {
      problem(at, name + " must be a non-empty array of choice rules, not " +
                      (value.is_array() ? std::string("an empty array") : detail::a_type(value)));
      return node;
    }
    for (std::size_t i = 0; i < value.size(); ++i) {
      node.children.push_back(rule(value[i], pointer_append(at, i), depth + 1));
    }
    return node;
  }

  Node comparison(const Json& r, const detail::Operator& op, const std::string& pointer) {
    Node node;
    node.op = &op;
    const auto var = r.find("Variable");
    if (var == r.end()) {
      problem(pointer, "the choice rule has " + op.name + " but no Variable");
    } else if (!var->is_string()) {
      problem(pointer_append(pointer, "Variable"),
              "Variable must be a path (a string), not " + detail::a_type(*var));
    } else {
      std::string why;
      node.variable = Path::try_parse(var->get_ref<const std::string&>(), &why);
      if (!node.variable) problem(pointer_append(pointer, "Variable"), "Variable: " + why);
    }
    operand(node, r.at(op.name), pointer_append(pointer, op.name));
    return node;
  }

  void operand(Node& node, const Json& value, const std::string& at) {
    const detail::Operator& op = *node.op;
    const auto expect = [&](bool ok, const char* wanted) {
      if (!ok) problem(at, op.name + " must be " + wanted + ", not " + detail::a_type(value));
      return ok;
    };
    if (op.path) {
      if (!expect(value.is_string(), "a path (a string)")) return;
      std::string why;
      node.operand_path = Path::try_parse(value.get_ref<const std::string&>(), &why);
      if (!node.operand_path) problem(at, op.name + ": " + why);
      return;
    }
    node.operand = value;
    switch (op.family) {
      case Family::String: expect(value.is_string(), "a string"); return;
      case Family::Numeric: expect(value.is_number(), "a number"); return;
      case Family::Boolean: expect(value.is_boolean(), "a boolean"); return;
      case Family::Matches:
        if (expect(value.is_string(), "a string pattern")) {
          if (auto why = pattern_problem(value.get<std::string>())) problem(at, *why);
        }
        return;
      case Family::Timestamp:
        if (!expect(value.is_string(), "an RFC 3339 timestamp string")) return;
        node.instant = parse_instant(value.get_ref<const std::string&>());
        if (!node.instant) {
          problem(at, op.name +
                          " must be an RFC 3339 timestamp such as 2016-08-18T17:33:00Z, not " +
                          detail::quoted(value.get_ref<const std::string&>()));
        }
        return;
      default: expect(value.is_boolean(), "true or false"); return;
    }
  }

  const std::string& m_state;
  Problems& m_problems;
};

}  // namespace

ChoiceRule ChoiceRule::compile(const Json& rule, const std::string& pointer,
                               const std::string& state, Problems& problems) {
  ChoiceRule out;
  out.m_root = std::make_shared<const Node>(Compiler(state, problems).rule(rule, pointer, 0));
  return out;
}

}  // namespace beamflow::lang
