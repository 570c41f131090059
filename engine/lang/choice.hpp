#pragma once
// Choice rules (spec: "Choice Rules"): comparisons with a Variable, their
// ...Path variants, And / Or / Not, and the type tests. Compiled once,
// evaluated as a pure function of (input, context).
#include <compare>
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

  // Evaluates the rule. A value of the wrong type makes a comparison false
  // (no coercion). A Variable or ...Path operand that matches nothing throws
  // Error id "lang.choice.invalid_path" (asl States.Runtime) — AWS's
  // documented behaviour ("If the state input doesn't contain the field, the
  // execution fails"), kept so flows behave as on AWS; IsPresent is the one
  // test that inspects absence instead. An indefinite Variable that matches
  // nothing counts as absent.
  bool evaluate(const Json& input, const Json& context) const;

  struct Node;

 private:
  std::shared_ptr<const Node> m_root;
};

// StringMatches pattern test: '*' matches any run of characters, "\\*" a
// literal '*', "\\\\" a literal backslash (as written in JSON). At run time
// any other backslash makes the next character literal; compile() reports
// such patterns. Exposed for tests.
bool string_matches(std::string_view value, std::string_view pattern);

// An RFC 3339 instant over its whole range (years 0000-9999).
struct Instant {
  long long seconds = 0;  // since 1970-01-01T00:00:00Z
  int nanos = 0;          // 0..999999999
  friend auto operator<=>(const Instant&, const Instant&) = default;
};

// RFC 3339 timestamp as ASL's IsTimestamp and the Timestamp comparisons use
// it: "2016-08-18T17:33:00Z", optional fraction, 'Z' or "+hh:mm"/"-hh:mm";
// uppercase 'T' and 'Z' as AWS requires. nullopt when invalid.
std::optional<Instant> parse_instant(std::string_view text);

// parse_instant as nanoseconds since the epoch; nullopt when invalid or
// outside what 64-bit nanoseconds hold (years 1678-2261).
std::optional<long long> parse_timestamp(std::string_view text);

}  // namespace beamflow::lang
