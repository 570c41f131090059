#pragma once
// Choice rules (spec: "Choice Rules"): comparisons with a Variable, their
// ...Path variants, And / Or / Not, and the type tests. Compiled once,
// evaluated as a pure function of (input, context).
#include <memory>
#include <optional>
#include <string_view>
#include <string>

#include "core/json.hpp"
#include "lang/problems.hpp"

namespace beamflow::lang {

class ChoiceRule {
 public:
  // Compiles one rule. `top_level` rules must carry Next (checked by the
  // caller); nested rules (inside And/Or/Not) must not. Problems are reported,
  // not thrown; the returned rule is only meaningful when none were added.
  static ChoiceRule compile(const Json& rule, const std::string& pointer, const std::string& state,
                            Problems& problems);

  // Evaluates the rule. A Variable that matches nothing makes a comparison
  // false (IsPresent excepted, which is what it tests). A ...Path operand
  // that matches nothing throws Error asl States.Runtime.
  bool evaluate(const Json& input, const Json& context) const;

  struct Node;

 private:
  std::shared_ptr<const Node> m_root;
};

// StringMatches pattern test: '*' matches any run of characters, "\\*" a
// literal '*', "\\\\" a literal backslash. Exposed for tests.
bool string_matches(std::string_view value, std::string_view pattern);

// ISO 8601 / RFC 3339 timestamp test as ASL's IsTimestamp and the Timestamp
// comparisons use it. Returns nanoseconds since the epoch when valid.
std::optional<long long> parse_timestamp(std::string_view text);

}  // namespace beamflow::lang
