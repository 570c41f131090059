// Choice rules: every operator and its Path variant, And/Or/Not, type tests,
// StringMatches, timestamps, AWS's absent-variable failure, and every
// compile problem.
#include "lang/choice.hpp"

#include <string>

#include "test_util.hpp"

namespace beamflow::lang {
namespace {

using test::expect_error;
using test::has_problem;
using test::J;

const char* const kPointer = "/States/C/Choices/0";

ChoiceRule compile_ok(const Json& rule) {
  Problems problems;
  ChoiceRule r = ChoiceRule::compile(rule, kPointer, "C", problems);
  EXPECT_TRUE(problems.empty()) << rule << ": " << problems.items().front().message;
  return r;
}

Problems compile_bad(const Json& rule) {
  Problems problems;
  ChoiceRule::compile(rule, kPointer, "C", problems);
  EXPECT_FALSE(problems.empty()) << rule;
  for (const auto& p : problems.items()) EXPECT_EQ(p.state, "C");
  return problems;
}

// Builds {"Variable": var, op: operand} and evaluates it against `input`.
bool check(const char* op, const Json& operand, const Json& value,
           const Json& extra = Json::object()) {
  Json input = extra;
  input["v"] = value;
  return compile_ok(Json{{"Variable", "$.v"}, {op, operand}}).evaluate(input, Json::object());
}

TEST(ChoiceString, Comparisons) {
  EXPECT_TRUE(check("StringEquals", "MyString", "MyString"));
  EXPECT_FALSE(check("StringEquals", "MyString", "mystring"));
  EXPECT_TRUE(check("StringLessThan", "b", "a"));
  EXPECT_FALSE(check("StringLessThan", "a", "a"));
  EXPECT_TRUE(check("StringLessThanEquals", "a", "a"));
  EXPECT_TRUE(check("StringGreaterThan", "MyStringABC", "MyStringABD"));
  EXPECT_FALSE(check("StringGreaterThan", "b", "a"));
  EXPECT_TRUE(check("StringGreaterThanEquals", "b", "b"));
  EXPECT_TRUE(check("StringLessThan", "ab", "a"));  // a prefix sorts first
  EXPECT_TRUE(check("StringEquals", "", ""));
  // Java String.compareTo order: UTF-16 units, so U+1D11E (surrogates D834..)
  // sorts before U+FFFF although its UTF-8 bytes sort after.
  EXPECT_TRUE(check("StringLessThan", "\xEF\xBF\xBF", "\xF0\x9D\x84\x9E"));
  EXPECT_TRUE(check("StringGreaterThan", "\xEE\x80\x80", "\xEF\xBF\xBF"));
  // A timestamp is a string too.
  EXPECT_TRUE(check("StringEquals", "2001-01-01T12:00:00Z", "2001-01-01T12:00:00Z"));
}

TEST(ChoiceString, NoCoercion) {
  EXPECT_FALSE(check("StringEquals", "1", 1));
  EXPECT_FALSE(check("StringEquals", "true", true));
  EXPECT_FALSE(check("StringEquals", "null", nullptr));
  EXPECT_FALSE(check("StringLessThan", "z", J("[\"a\"]")));
  EXPECT_FALSE(check("StringGreaterThanEquals", "", J("{}")));
}

TEST(ChoiceNumeric, Comparisons) {
  EXPECT_TRUE(check("NumericEquals", 1, 1));
  EXPECT_TRUE(check("NumericEquals", 1, 1.0));
  EXPECT_FALSE(check("NumericEquals", 1, 1.000001));
  EXPECT_TRUE(check("NumericLessThan", 30, 22));
  EXPECT_FALSE(check("NumericLessThan", 22, 22));
  EXPECT_TRUE(check("NumericLessThanEquals", 22, 22));
  EXPECT_TRUE(check("NumericGreaterThan", -1.5, -1));
  EXPECT_TRUE(check("NumericGreaterThanEquals", 20, 20.0));
  EXPECT_FALSE(check("NumericGreaterThanEquals", 20, 19.999));
  // Large integers compare exactly, beyond double precision.
  EXPECT_FALSE(check("NumericEquals", J("9007199254740993"), J("9007199254740992")));
  EXPECT_TRUE(check("NumericGreaterThan", J("9007199254740992"), J("9007199254740993")));
  EXPECT_TRUE(check("NumericGreaterThan", -1, J("18446744073709551615")));
  EXPECT_TRUE(check("NumericLessThan", J("18446744073709551615"), J("-9223372036854775808")));
  EXPECT_FALSE(check("NumericEquals", 1, "1"));
  EXPECT_FALSE(check("NumericLessThan", 5, true));
  EXPECT_FALSE(check("NumericEquals", 0, nullptr));
}

TEST(ChoiceBoolean, Comparisons) {
  EXPECT_TRUE(check("BooleanEquals", true, true));
  EXPECT_FALSE(check("BooleanEquals", true, false));
  EXPECT_TRUE(check("BooleanEquals", false, false));
  EXPECT_FALSE(check("BooleanEquals", true, "true"));
  EXPECT_FALSE(check("BooleanEquals", false, 0));
}

TEST(ChoiceTimestamp, Comparisons) {
  EXPECT_TRUE(check("TimestampEquals", "2001-01-01T12:00:00Z", "2001-01-01T12:00:00Z"));
  EXPECT_TRUE(check("TimestampEquals", "2016-08-18T17:33:00Z", "2016-08-18T19:33:00+02:00"));
  EXPECT_TRUE(check("TimestampEquals", "2016-08-18T17:33:00Z", "2016-08-18T12:03:00-05:30"));
  EXPECT_TRUE(check("TimestampEquals", "2016-08-18T17:33:00Z", "2016-08-18T17:33:00.000Z"));
  EXPECT_TRUE(
      check("TimestampLessThan", "2016-08-18T17:33:00.5Z", "2016-08-18T17:33:00.499999999Z"));
  EXPECT_TRUE(
      check("TimestampGreaterThan", "2016-08-18T17:33:00Z", "2016-08-18T17:33:00.000000001Z"));
  EXPECT_TRUE(check("TimestampLessThanEquals", "2016-08-18T17:33:00Z", "2016-08-18T17:33:00Z"));
  EXPECT_TRUE(check("TimestampGreaterThanEquals", "1969-12-31T23:59:59Z", "1970-01-01T00:00:00Z"));
  EXPECT_TRUE(check("TimestampLessThan", "2262-01-01T00:00:00Z", "9999-12-31T23:59:59Z") == false);
  EXPECT_TRUE(check("TimestampGreaterThan", "2262-01-01T00:00:00Z", "9999-12-31T23:59:59Z"));
  // Not a timestamp, or not a string: false, never an error.
  EXPECT_FALSE(check("TimestampEquals", "2001-01-01T12:00:00Z", "2001-01-01"));
  EXPECT_FALSE(check("TimestampLessThan", "2001-01-01T12:00:00Z", 0));
  EXPECT_FALSE(check("TimestampGreaterThan", "2001-01-01T12:00:00Z", "2001-01-01t12:00:00z"));
}

TEST(ChoiceMatches, Patterns) {
  EXPECT_TRUE(check("StringMatches", "log-*.txt", "log-2024-01.txt"));
  EXPECT_FALSE(check("StringMatches", "log-*.txt", "log-2024-01.csv"));
  EXPECT_TRUE(check("StringMatches", "*", ""));
  EXPECT_TRUE(check("StringMatches", "*.log", "a.log"));
  EXPECT_TRUE(check("StringMatches", "a*b*c", "abxbxc"));
  EXPECT_TRUE(check("StringMatches", "*ab", "aab"));   // needs backtracking
  EXPECT_FALSE(check("StringMatches", "a?c", "abc"));  // '?' is an ordinary character
  EXPECT_TRUE(check("StringMatches", "a?c", "a?c"));
  EXPECT_TRUE(check("StringMatches", "star\\*", "star*"));
  EXPECT_FALSE(check("StringMatches", "star\\*", "stars"));
  EXPECT_TRUE(check("StringMatches", "back\\\\slash", "back\\slash"));
  EXPECT_TRUE(check("StringMatches", "é*", "école"));
  EXPECT_FALSE(check("StringMatches", "*", 5));
  EXPECT_TRUE(check("StringMatches", "", ""));
  EXPECT_FALSE(check("StringMatches", "", "x"));
}

TEST(ChoiceMatches, FreeFunction) {
  EXPECT_TRUE(string_matches("abc", "abc"));
  EXPECT_TRUE(string_matches("abc", "***"));
  EXPECT_TRUE(string_matches("x*y", "x\\*y"));
  EXPECT_FALSE(string_matches("xzy", "x\\*y"));
  EXPECT_TRUE(string_matches("a\\", "a\\"));  // a trailing backslash is literal at run time
  EXPECT_TRUE(string_matches("aq", "a\\q"));  // lenient: escapes any character
  EXPECT_FALSE(string_matches("ab", "abc"));
  // Pathological patterns stay fast (no exponential backtracking).
  const std::string value(20000, 'a');
  EXPECT_FALSE(string_matches(value, "*a*a*a*a*a*a*b"));
}

TEST(ChoiceTypeTests, PresentAndTypes) {
  const Json input =
      J(R"j({"n": null, "i": 1, "f": 1.5, "s": "x", "b": false, "t": "2016-08-18T17:33:00Z",
                           "a": [], "o": {}})j");
  const auto test = [&](const char* op, const char* var, bool expected) {
    return compile_ok(Json{{"Variable", var}, {op, expected}}).evaluate(input, Json::object());
  };
  EXPECT_TRUE(test("IsNull", "$.n", true));
  EXPECT_FALSE(test("IsNull", "$.i", true));
  EXPECT_TRUE(test("IsNull", "$.i", false));
  EXPECT_TRUE(test("IsNumeric", "$.i", true));
  EXPECT_TRUE(test("IsNumeric", "$.f", true));
  EXPECT_FALSE(test("IsNumeric", "$.s", true));
  EXPECT_TRUE(test("IsString", "$.s", true));
  EXPECT_TRUE(test("IsString", "$.t", true));
  EXPECT_FALSE(test("IsString", "$.n", true));
  EXPECT_TRUE(test("IsBoolean", "$.b", true));
  EXPECT_FALSE(test("IsBoolean", "$.i", true));
  EXPECT_TRUE(test("IsTimestamp", "$.t", true));
  EXPECT_FALSE(test("IsTimestamp", "$.s", true));
  EXPECT_TRUE(test("IsTimestamp", "$.i", false));
  EXPECT_TRUE(test("IsPresent", "$.n", true));
  EXPECT_TRUE(test("IsPresent", "$.o", true));
  EXPECT_FALSE(test("IsPresent", "$.missing", true));
  EXPECT_TRUE(test("IsPresent", "$.missing", false));
  EXPECT_FALSE(test("IsPresent", "$.a[0]", true));
  // An indefinite path is present when it matches something.
  EXPECT_TRUE(test("IsPresent", "$.*", true));
  EXPECT_FALSE(test("IsPresent", "$.a[*]", true));
  EXPECT_FALSE(test("IsPresent", "$..zz", true));
}

TEST(ChoicePaths, PathOperands) {
  const Json input = J(R"j({"v": 5, "lo": 1, "hi": 9, "name": "x", "same": "x", "flag": true,
                           "t1": "2020-01-01T00:00:00Z", "t2": "2021-01-01T00:00:00Z", "str": "5"})j");
  const auto test = [&](const char* var, const char* op, const char* path) {
    return compile_ok(Json{{"Variable", var}, {op, path}}).evaluate(input, Json::object());
  };
  EXPECT_TRUE(test("$.v", "NumericGreaterThanPath", "$.lo"));
  EXPECT_TRUE(test("$.v", "NumericLessThanPath", "$.hi"));
  EXPECT_TRUE(test("$.v", "NumericEqualsPath", "$.v"));
  EXPECT_TRUE(test("$.v", "NumericLessThanEqualsPath", "$.v"));
  EXPECT_TRUE(test("$.v", "NumericGreaterThanEqualsPath", "$.lo"));
  EXPECT_FALSE(test("$.v", "NumericEqualsPath", "$.str"));  // no coercion
  EXPECT_TRUE(test("$.name", "StringEqualsPath", "$.same"));
  EXPECT_FALSE(test("$.name", "StringLessThanPath", "$.same"));
  EXPECT_TRUE(test("$.name", "StringLessThanEqualsPath", "$.same"));
  EXPECT_TRUE(test("$.name", "StringGreaterThanPath", "$.t1"));
  EXPECT_TRUE(test("$.name", "StringGreaterThanEqualsPath", "$.same"));
  EXPECT_TRUE(test("$.flag", "BooleanEqualsPath", "$.flag"));
  EXPECT_FALSE(test("$.flag", "BooleanEqualsPath", "$.name"));
  EXPECT_TRUE(test("$.t1", "TimestampLessThanPath", "$.t2"));
  EXPECT_TRUE(test("$.t2", "TimestampGreaterThanPath", "$.t1"));
  EXPECT_TRUE(test("$.t1", "TimestampEqualsPath", "$.t1"));
  EXPECT_TRUE(test("$.t1", "TimestampLessThanEqualsPath", "$.t1"));
  EXPECT_TRUE(test("$.t1", "TimestampGreaterThanEqualsPath", "$.t1"));
  EXPECT_FALSE(test("$.t1", "TimestampEqualsPath", "$.name"));
  // The context object.
  EXPECT_TRUE(compile_ok(J(R"j({"Variable": "$$.Execution.Input.n", "NumericEqualsPath": "$.v"})j"))
                  .evaluate(input, J(R"j({"Execution": {"Input": {"n": 5}}})j")));
}

TEST(ChoiceAbsent, FailsAsOnAws) {
  const Json input = J(R"j({"present": 1})j");
  for (const char* op :
       {"StringEquals", "NumericEquals", "BooleanEquals", "TimestampEquals", "StringMatches",
        "IsNull", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp"}) {
    Json operand = std::string(op).rfind("Is", 0) == 0 ? Json(true) : Json();
    if (operand.is_null()) {
      operand = std::string(op) == "NumericEquals"     ? Json(1)
                : std::string(op) == "BooleanEquals"   ? Json(true)
                : std::string(op) == "TimestampEquals" ? Json("2001-01-01T00:00:00Z")
                                                       : Json("x");
    }
    const ChoiceRule rule = compile_ok(Json{{"Variable", "$.missing"}, {op, operand}});
    expect_error(
        [&] { rule.evaluate(input, Json::object()); }, "lang.choice.invalid_path", "States.Runtime",
        "Invalid path '$.missing': The choice state's condition path references an invalid value.");
  }
  const ChoiceRule by_path =
      compile_ok(J(R"j({"Variable": "$.present", "NumericEqualsPath": "$.gone"})j"));
  expect_error([&] { by_path.evaluate(input, Json::object()); }, "lang.choice.invalid_path",
               "States.Runtime", "Invalid path '$.gone'");
  const ChoiceRule indefinite = compile_ok(J(R"j({"Variable": "$..zz", "StringEquals": "x"})j"));
  expect_error([&] { indefinite.evaluate(input, Json::object()); }, "lang.choice.invalid_path",
               "States.Runtime", "Invalid path '$..zz'");
  // The AWS-recommended guard: IsPresent first, And short-circuits.
  const ChoiceRule guarded = compile_ok(J(R"j({"And": [{"Variable": "$.missing", "IsPresent": true},
                                                        {"Variable": "$.missing", "NumericEquals": 1}]})j"));
  EXPECT_FALSE(guarded.evaluate(input, Json::object()));
}

TEST(ChoiceLogic, AwsGuideExample) {
  const Json input = J(R"j({"type": "Private", "value": 22})j");
  const auto rule = [&](const char* text) {
    return compile_ok(J(text)).evaluate(input, Json::object());
  };
  EXPECT_FALSE(
      rule(R"j({"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"})j"));
  EXPECT_FALSE(rule(R"j({"Variable": "$.value", "NumericEquals": 0, "Next": "ValueIsZero"})j"));
  EXPECT_TRUE(rule(R"j({"And": [{"Variable": "$.value", "NumericGreaterThanEquals": 20},
                               {"Variable": "$.value", "NumericLessThan": 30}], "Next": "ValueInTwenties"})j"));
  EXPECT_TRUE(rule(R"j({"Or": [{"Variable": "$.value", "NumericEquals": 1},
                              {"Not": {"Not": {"Variable": "$.type", "StringMatches": "Pri*"}}}]})j"));
  EXPECT_FALSE(rule(R"j({"Or": [{"Variable": "$.value", "NumericEquals": 1},
                               {"Variable": "$.type", "IsNumeric": true}]})j"));
  EXPECT_TRUE(rule(R"j({"Comment": "documented", "Variable": "$.value", "IsNumeric": true})j"));
}

TEST(ChoiceLogic, DeepButLegalNesting) {
  Json rule = J(R"j({"Variable": "$.v", "IsPresent": true})j");
  for (int i = 0; i < 256; ++i) rule = Json{{"Not", rule}};
  EXPECT_TRUE(compile_ok(rule).evaluate(J(R"j({"v": 1})j"), Json::object()));  // 256 negations
}

TEST(ChoiceCompile, StructureProblems) {
  EXPECT_TRUE(has_problem(compile_bad(J("[1]")), "a choice rule must be an object, not an array",
                          kPointer));
  EXPECT_TRUE(has_problem(compile_bad(J(R"j({"Variable": "$.a"})j")),
                          "the choice rule has no operator: give one comparison", kPointer));
  EXPECT_TRUE(has_problem(
      compile_bad(J(R"j({"Variable": "$.a", "StringEquals": "x", "NumericEquals": 1})j")),
      "the choice rule has 2 operators (NumericEquals, StringEquals); it takes exactly "
      "one, so combine them with And"));
  EXPECT_TRUE(has_problem(compile_bad(J(R"j({"Variable": "$.a", "StringEqual": "x"})j")),
                          "unknown field 'StringEqual' in a choice rule",
                          "/States/C/Choices/0/StringEqual"));
  EXPECT_TRUE(has_problem(compile_bad(J(R"j({"Variable": "$.a", "StringMatchesPath": "$.b"})j")),
                          "unknown field 'StringMatchesPath'"));
  EXPECT_TRUE(has_problem(compile_bad(J(R"j({"And": []})j")),
                          "And must be a non-empty array of choice rules, not an empty array",
                          "/States/C/Choices/0/And"));
  EXPECT_TRUE(has_problem(compile_bad(J(R"j({"Or": {"Variable": "$.a", "IsNull": true}})j")),
                          "Or must be a non-empty array of choice rules, not an object"));
  EXPECT_TRUE(has_problem(compile_bad(J(R"j({"Or": [{"Variable": "$.a", "IsNull": true}, 3]})j")),
                          "a choice rule must be an object, not a number",
                          "/States/C/Choices/0/Or/1"));
  EXPECT_TRUE(has_problem(compile_bad(J(R"j({"Not": [{"Variable": "$.a", "IsNull": true}]})j")),
                          "Not must hold one choice rule (an object), not an array",
                          "/States/C/Choices/0/Not"));
  EXPECT_TRUE(has_problem(
      compile_bad(J(R"j({"Variable": "$.a", "And": [{"Variable": "$.a", "IsNull": true}]})j")),
      "Variable is not allowed beside And", "/States/C/Choices/0/Variable"));
  EXPECT_TRUE(has_problem(
      compile_bad(J(R"j({"And": [{"Variable": "$.a", "IsNull": true, "Next": "X"}]})j")),
      "a nested choice rule must not have Next", "/States/C/Choices/0/And/0/Next"));
  EXPECT_TRUE(has_problem(compile_bad(J(R"j({"Not": {"Not": {"Variable": "$.a"}}})j")),
                          "the choice rule has no operator", "/States/C/Choices/0/Not/Not"));
  // A top-level Next is the caller's business.
  EXPECT_NO_THROW(compile_ok(J(R"j({"Variable": "$.a", "IsNull": true, "Next": "X"})j")));
  Json deep = J(R"j({"Variable": "$.v", "IsPresent": true})j");
  for (int i = 0; i < 300; ++i) deep = Json{{"Not", deep}};
  EXPECT_TRUE(has_problem(compile_bad(deep), "choice rules nest deeper than 256 levels"));
}

TEST(ChoiceCompile, VariableProblems) {
  EXPECT_TRUE(has_problem(compile_bad(J(R"j({"StringEquals": "x"})j")),
                          "the choice rule has StringEquals but no Variable", kPointer));
  EXPECT_TRUE(has_problem(compile_bad(J(R"j({"Variable": 5, "StringEquals": "x"})j")),
                          "Variable must be a path (a string), not a number",
                          "/States/C/Choices/0/Variable"));
  EXPECT_TRUE(has_problem(compile_bad(J(R"j({"Variable": "a.b", "StringEquals": "x"})j")),
                          "Variable: Invalid path 'a.b': must begin with '$'"));
}

TEST(ChoiceCompile, OperandProblems) {
  const auto bad = [](const char* text, const char* fragment, const char* field) {
    std::string pointer = kPointer;  // appended in steps: GCC 12 misreports a + b + c here
    pointer.append("/").append(field);
    EXPECT_TRUE(has_problem(compile_bad(J(text)), fragment, pointer)) << text;
  };
  bad(R"j({"Variable": "$.a", "NumericEquals": "1"})j",
      "NumericEquals must be a number, not a string", "NumericEquals");
  bad(R"j({"Variable": "$.a", "NumericLessThan": null})j",
      "NumericLessThan must be a number, not null", "NumericLessThan");
  bad(R"j({"Variable": "$.a", "StringEquals": 1})j", "StringEquals must be a string, not a number",
      "StringEquals");
  bad(R"j({"Variable": "$.a", "BooleanEquals": "true"})j",
      "BooleanEquals must be a boolean, not a string", "BooleanEquals");
  bad(R"j({"Variable": "$.a", "TimestampEquals": 1})j",
      "TimestampEquals must be an RFC 3339 timestamp string, not a number", "TimestampEquals");
  bad(R"j({"Variable": "$.a", "TimestampLessThan": "2016-08-18"})j",
      "TimestampLessThan must be an RFC 3339 timestamp such as 2016-08-18T17:33:00Z, not "
      "'2016-08-18'",
      "TimestampLessThan");
  bad(R"j({"Variable": "$.a", "StringMatches": 3})j",
      "StringMatches must be a string pattern, not a number", "StringMatches");
  bad(R"j({"Variable": "$.a", "StringMatches": "a\\b"})j",
      "StringMatches pattern 'a\\b' has a backslash at offset 1 that escapes neither '*' nor '\\'",
      "StringMatches");
  bad(R"j({"Variable": "$.a", "StringMatches": "end\\"})j", "has a backslash at offset 3",
      "StringMatches");
  bad(R"j({"Variable": "$.a", "IsNull": "yes"})j", "IsNull must be true or false, not a string",
      "IsNull");
  bad(R"j({"Variable": "$.a", "IsPresent": 1})j", "IsPresent must be true or false, not a number",
      "IsPresent");
  bad(R"j({"Variable": "$.a", "NumericEqualsPath": 5})j",
      "NumericEqualsPath must be a path (a string), not a number", "NumericEqualsPath");
  bad(R"j({"Variable": "$.a", "StringEqualsPath": "$.b["})j",
      "StringEqualsPath: Invalid path '$.b['", "StringEqualsPath");
}

TEST(ChoiceCompile, UncompiledRulesRefuseToEvaluate) {
  expect_error([] { ChoiceRule().evaluate(J("{}"), J("{}")); }, "lang.choice.uncompiled",
               "States.Runtime", "a choice rule that failed to compile was evaluated");
  Problems problems;
  const ChoiceRule broken =
      ChoiceRule::compile(J(R"j({"StringEquals": "x"})j"), kPointer, "C", problems);
  expect_error([&] { broken.evaluate(J("{}"), J("{}")); }, "lang.choice.uncompiled",
               "States.Runtime", "its problems were ignored");
}

TEST(Timestamps, ValidForms) {
  EXPECT_EQ(parse_timestamp("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_timestamp("1970-01-01T00:00:01.5Z"), 1500000000LL);
  EXPECT_EQ(parse_timestamp("2016-08-18T17:33:00Z"), 1471541580LL * 1000000000LL);
  EXPECT_EQ(parse_timestamp("2016-08-18T19:33:00+02:00"), parse_timestamp("2016-08-18T17:33:00Z"));
  EXPECT_EQ(parse_timestamp("1969-12-31T23:59:59.999999999Z"), -1);
  EXPECT_EQ(parse_timestamp("2000-02-29T00:00:00Z"), 951782400LL * 1000000000LL);
  EXPECT_EQ(parse_timestamp("2016-08-18T17:33:00.1234567891234Z"), 1471541580123456789LL);
  EXPECT_EQ(parse_timestamp("2016-08-18T17:33:00-00:00"), parse_timestamp("2016-08-18T17:33:00Z"));
  const auto far = parse_instant("9999-12-31T23:59:59.5Z");
  ASSERT_TRUE(far);
  EXPECT_EQ(far->seconds, 253402300799LL);
  EXPECT_EQ(far->nanos, 500000000);
  EXPECT_FALSE(parse_timestamp("9999-12-31T23:59:59Z"));  // valid, but past int64 nanoseconds
  const auto zero = parse_instant("0000-01-01T00:00:00Z");
  ASSERT_TRUE(zero);
  EXPECT_EQ(zero->seconds, -62167219200LL);
}

TEST(Timestamps, InvalidForms) {
  for (const char* text : {"",
                           "2016-08-18",
                           "2016-08-18T17:33:00",
                           "2016-08-18t17:33:00Z",
                           "2016-08-18T17:33:00z",
                           "2016-08-18 17:33:00Z",
                           "2016-13-01T00:00:00Z",
                           "2016-00-01T00:00:00Z",
                           "2015-02-29T00:00:00Z",
                           "2016-04-31T00:00:00Z",
                           "2016-08-18T24:00:00Z",
                           "2016-08-18T17:60:00Z",
                           "2016-08-18T17:33:60Z",
                           "2016-08-18T17:33:00.Z",
                           "2016-08-18T17:33:00+0200",
                           "2016-08-18T17:33:00+24:00",
                           "2016-08-18T17:33:00+02:60",
                           "2016-08-18T17:33:00Z ",
                           "2016-8-18T17:33:00Z",
                           "x016-08-18T17:33:00Z",
                           "2016-08-18T17:33:00+02",
                           "2016-08-18T17:33:00.12.3Z"}) {
    EXPECT_FALSE(parse_instant(text)) << text;
    EXPECT_FALSE(parse_timestamp(text)) << text;
  }
}

}  // namespace
}  // namespace beamflow::lang
