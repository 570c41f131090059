// Input and output processing: payload templates, InputPath/OutputPath and
// ResultPath, with the spec's and AWS's examples and every problem and error.
#include "lang/payload.hpp"

#include <string>

#include "test_util.hpp"

namespace beamflow::lang {
namespace {

using test::expect_error;
using test::has_problem;
using test::J;

PayloadTemplate compile_ok(const Json& tmpl) {
  Problems problems;
  PayloadTemplate t = PayloadTemplate::compile(tmpl, "/States/S/Parameters", "S", problems);
  EXPECT_TRUE(problems.empty()) << problems.items().front().message;
  return t;
}

Problems compile_bad(const Json& tmpl) {
  Problems problems;
  PayloadTemplate::compile(tmpl, "/States/S/Parameters", "S", problems);
  EXPECT_FALSE(problems.empty());
  for (const auto& p : problems.items()) EXPECT_EQ(p.state, "S");
  return problems;
}

TEST(PayloadTemplate, SpecExample) {
  const Json input = J(R"j({"flagged": 7, "vals": [0, 10, 20, 30, 40, 50]})j");
  const auto t = compile_ok(
      J(R"j({"flagged": true, "parts": {"first.$": "$.vals[0]", "last3.$": "$.vals[-3:]"}})j"));
  EXPECT_EQ(t.evaluate(input, Json::object()),
            J(R"j({"flagged": true, "parts": {"first": 0, "last3": [30, 40, 50]}})j"));
}

TEST(PayloadTemplate, ContextAndIntrinsics) {
  const Json ctx = J(R"j({"Map": {"Item": {"Index": 2, "Value": {"id": "x"}}}})j");
  const auto t = compile_ok(J(R"j({"item.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index",
                                  "msg.$": "States.Format('item {} of {}', $$.Map.Item.Index, $.name)",
                                  "id.$": "States.UUID()"})j"));
  const Json out = t.evaluate(J(R"j({"name": "scan"})j"), ctx);
  EXPECT_EQ(out["item"], J(R"j({"id": "x"})j"));
  EXPECT_EQ(out["index"], 2);
  EXPECT_EQ(out["msg"], "item 2 of scan");
  EXPECT_EQ(out["id"].get<std::string>().size(), 36u);
  EXPECT_EQ(out.size(), 4u);
}

TEST(PayloadTemplate, WalksArraysAndObjectsInsideThem) {
  const auto t = compile_ok(
      J(R"j({"list": [{"a.$": "$.x"}, 1, [{"b.$": "$.y"}, "$.y"]], "n": {"m": {"c.$": "$"}}})j"));
  EXPECT_EQ(
      t.evaluate(J(R"j({"x": 1, "y": [2]})j"), Json::object()),
      J(R"j({"list": [{"a": 1}, 1, [{"b": [2]}, "$.y"]], "n": {"m": {"c": {"x": 1, "y": [2]}}}})j"));
}

TEST(PayloadTemplate, LiteralsStayLiteral) {
  const Json tmpl =
      J(R"j({"path": "$.not.a.path", "States.Format('x')": 1, "n": null, "a": [1, {"b": "$"}]})j");
  EXPECT_EQ(compile_ok(tmpl).evaluate(J("{}"), J("{}")), tmpl);
  EXPECT_EQ(compile_ok(J("[1, 2]")).evaluate(J("{}"), J("{}")), J("[1, 2]"));
  EXPECT_EQ(compile_ok(J("\"text\"")).evaluate(J("{}"), J("{}")), J("\"text\""));
  // A key that is exactly ".$" yields the empty key.
  EXPECT_EQ(compile_ok(J(R"j({".$": "$.v"})j")).evaluate(J(R"j({"v": 3})j"), J("{}")),
            J(R"j({"": 3})j"));
  // Indefinite paths yield arrays, possibly empty.
  EXPECT_EQ(compile_ok(J(R"j({"all.$": "$..v"})j")).evaluate(J(R"j({"a": {"v": 1}})j"), J("{}")),
            J(R"j({"all": [1]})j"));
  EXPECT_EQ(compile_ok(J(R"j({"none.$": "$..zz"})j")).evaluate(J("{}"), J("{}")),
            J(R"j({"none": []})j"));
}

TEST(PayloadTemplate, DefaultConstructedYieldsNull) {
  EXPECT_EQ(PayloadTemplate().evaluate(J("{}"), J("{}")), Json());
}

TEST(PayloadTemplate, CompileProblems) {
  auto p = compile_bad(J(R"j({"a.$": 5})j"));
  EXPECT_TRUE(has_problem(
      p, "the value of 'a.$' must be a path or an intrinsic function (a string), not a number",
      "/States/S/Parameters/a.$"));
  p = compile_bad(J(R"j({"x": [{"b.$": {"c": 1}}]})j"));
  EXPECT_TRUE(has_problem(p, "not an object", "/States/S/Parameters/x/0/b.$"));
  p = compile_bad(J(R"j({"a.$": "nope"})j"));
  EXPECT_TRUE(
      has_problem(p, "Invalid path 'nope': must begin with '$'", "/States/S/Parameters/a.$"));
  p = compile_bad(J(R"j({"a.$": "$.b c"})j"));
  EXPECT_TRUE(has_problem(p, "write names with spaces as ['a name']"));
  p = compile_bad(J(R"j({"a.$": "States.Nope()"})j"));
  EXPECT_TRUE(has_problem(p, "unknown intrinsic function 'States.Nope'"));
  p = compile_bad(J(R"j({"a.$": "States.ArrayRange(1, 2)"})j"));
  EXPECT_TRUE(has_problem(p, "States.ArrayRange takes 3 arguments, not 2"));
  p = compile_bad(J(R"j({"a": 1, "a.$": "$.x"})j"));
  EXPECT_TRUE(has_problem(p, "the field 'a' is given twice, as 'a' and as 'a.$'"));
  p = compile_bad(J(R"j({"k~/.$": 1})j"));
  EXPECT_TRUE(has_problem(p, "must be a path", "/States/S/Parameters/k~0~1.$"));
  // Several problems are all reported.
  p = compile_bad(J(R"j({"a.$": 1, "b.$": true, "c": {"d.$": "x"}})j"));
  EXPECT_EQ(p.size(), 3u);
}

TEST(PayloadTemplate, NestingLimit) {
  Json ok = J(R"j({"v.$": "$.v"})j");
  for (int i = 0; i < 250; ++i) ok = Json{{"n", ok}};
  EXPECT_NO_THROW(compile_ok(ok));
  Json deep = J(R"j({"v.$": "$.v"})j");
  for (int i = 0; i < 300; ++i) deep = Json::array({deep});
  const auto p = compile_bad(deep);
  EXPECT_TRUE(has_problem(p, "the payload template nests deeper than 256 levels"));
}

TEST(PayloadTemplate, PathFailures) {
  const auto t = compile_ok(J(R"j({"a": {"b.$": "$.missing"}})j"));
  const Json input = J(R"j({"present": 1})j");
  expect_error(
      [&] { t.evaluate(input, J("{}")); }, "lang.payload.path", "States.ParameterPathFailure",
      "The JSONPath '$.missing' specified for the field 'b.$' could not be found in the input "
      "{\"present\":1}");
  expect_error([&] { t.evaluate(input, J("{}"), "States.Runtime"); }, "lang.payload.path",
               "States.Runtime", "could not be found");
  try {
    t.evaluate(input, J("{}"));
  } catch (const Error& e) {
    ASSERT_EQ(e.context().size(), 1u);
    EXPECT_EQ(e.context()[0], (std::pair<std::string, std::string>{"field", "b.$"}));
  }
  const auto c = compile_ok(J(R"j({"v.$": "$$.Map.Item.Value"})j"));
  expect_error([&] { c.evaluate(input, J(R"j({"Execution": {}})j")); }, "lang.payload.path",
               "States.ParameterPathFailure",
               "could not be found in the context object {\"Execution\":{}}");
  // Long inputs are cut in the message.
  const Json big = Json{{"s", std::string(1000, 'x')}};
  try {
    t.evaluate(big, J("{}"));
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_LT(e.message().size(), 400u);
    EXPECT_NE(e.message().find("..."), std::string::npos);
  }
}

TEST(PayloadTemplate, IntrinsicFailuresKeepTheirName) {
  const auto t =
      compile_ok(J(R"j({"a.$": "States.ArrayGetItem($.arr, 5)", "b.$": "States.Array($.nope)"})j"));
  expect_error([&] { t.evaluate(J(R"j({"arr": [1], "nope": 1})j"), J("{}")); },
               "lang.intrinsic.failure", "States.IntrinsicFailure", "index 5 is out of range");
  expect_error([&] { t.evaluate(J(R"j({"arr": [1, 2, 3, 4, 5, 6]})j"), J("{}")); },
               "lang.path.no_match", "States.IntrinsicFailure", "Invalid path '$.nope'");
}

FilterPath filter(const Json& state, Problems& problems, const char* key = "InputPath") {
  return FilterPath::from_field(state, key, "/States/S", "S", problems);
}

TEST(FilterPath, AbsentNullAndPath) {
  Problems problems;
  const Json input = J(R"j({"a": {"b": 1}, "c": 2})j");
  const FilterPath absent = filter(J(R"j({"Type": "Pass"})j"), problems);
  EXPECT_EQ(absent.kind, FilterPath::Kind::Default);
  EXPECT_EQ(absent.apply(input, J("{}")), input);
  const FilterPath null = filter(J(R"j({"InputPath": null})j"), problems);
  EXPECT_EQ(null.kind, FilterPath::Kind::Null);
  EXPECT_EQ(null.apply(input, J("{}")), J("{}"));
  const FilterPath path = filter(J(R"j({"InputPath": "$.a"})j"), problems);
  EXPECT_EQ(path.kind, FilterPath::Kind::Path);
  EXPECT_EQ(path.apply(input, J("{}")), J(R"j({"b": 1})j"));
  EXPECT_EQ(filter(J(R"j({"OutputPath": "$.*"})j"), problems, "OutputPath").apply(input, J("{}")),
            J(R"j([{"b": 1}, 2])j"));
  EXPECT_EQ(filter(J(R"j({"InputPath": "$$.Execution"})j"), problems)
                .apply(input, J(R"j({"Execution": 5})j")),
            5);
  EXPECT_EQ(filter(J("[1]"), problems).kind, FilterPath::Kind::Default);
  EXPECT_TRUE(problems.empty());
}

TEST(FilterPath, ProblemsAndNoMatch) {
  Problems problems;
  EXPECT_EQ(filter(J(R"j({"InputPath": 3})j"), problems).kind, FilterPath::Kind::Default);
  EXPECT_TRUE(has_problem(problems, "InputPath must be a path (a string) or null, not a number",
                          "/States/S/InputPath"));
  filter(J(R"j({"OutputPath": "$.a["})j"), problems, "OutputPath");
  EXPECT_TRUE(has_problem(problems, "OutputPath: Invalid path '$.a[': ends inside '['",
                          "/States/S/OutputPath"));
  const FilterPath p = filter(J(R"j({"OutputPath": "$.gone"})j"), problems, "OutputPath");
  expect_error([&] { p.apply(J(R"j({"a": 1})j"), J("{}")); }, "lang.io.no_match", "States.Runtime",
               "Invalid path '$.gone': OutputPath matches nothing in the input {\"a\":1}");
  const FilterPath c = filter(J(R"j({"InputPath": "$$.x"})j"), problems);
  expect_error([&] { c.apply(J("{}"), J("{}")); }, "lang.io.no_match", "States.Runtime",
               "InputPath matches nothing in the context object");
}

ResultPathSpec result_path(const Json& state, Problems& problems) {
  return ResultPathSpec::from_field(state, "ResultPath", "/States/S", "S", problems);
}

TEST(ResultPathSpec, AwsExamples) {
  Problems problems;
  const Json input = J(
      R"j({"comment": "This is a test", "details": "Default example", "who": "AWS Step Functions"})j");
  const Json result = "Hello, AWS Step Functions!";
  EXPECT_EQ(result_path(J("{}"), problems).apply(input, result), result);
  EXPECT_EQ(result_path(J(R"j({"ResultPath": "$"})j"), problems).apply(input, result), result);
  EXPECT_EQ(result_path(J(R"j({"ResultPath": null})j"), problems).apply(input, result), input);
  Json expected = input;
  expected["taskresult"] = result;
  EXPECT_EQ(result_path(J(R"j({"ResultPath": "$.taskresult"})j"), problems).apply(input, result),
            expected);
  EXPECT_EQ(result_path(J(R"j({"ResultPath": "$.a.b"})j"), problems).apply(J("{}"), 1),
            J(R"j({"a": {"b": 1}})j"));
  EXPECT_TRUE(problems.empty());
  EXPECT_EQ(result_path(J(R"j({"ResultPath": null})j"), problems).kind, ResultPathSpec::Kind::Null);
}

TEST(ResultPathSpec, ProblemsAndFailures) {
  Problems problems;
  EXPECT_EQ(result_path(J(R"j({"ResultPath": "$.a[*]"})j"), problems).kind,
            ResultPathSpec::Kind::Default);
  EXPECT_TRUE(
      has_problem(problems,
                  "ResultPath must be a reference path into the input (only .name, ['name'] and "
                  "[index] steps), not '$.a[*]'",
                  "/States/S/ResultPath"));
  result_path(J(R"j({"ResultPath": "$$.Task"})j"), problems);
  EXPECT_TRUE(has_problem(problems, "not '$$.Task'"));
  result_path(J(R"j({"ResultPath": "$..x"})j"), problems);
  EXPECT_TRUE(has_problem(problems, "not '$..x'"));
  result_path(J(R"j({"ResultPath": ["$.x"]})j"), problems);
  EXPECT_TRUE(has_problem(problems, "ResultPath must be a path (a string) or null, not an array"));
  result_path(J(R"j({"ResultPath": "x"})j"), problems);
  EXPECT_TRUE(has_problem(problems, "ResultPath: Invalid path 'x': must begin with '$'"));
  EXPECT_EQ(problems.size(), 5u);
  Problems none;
  const auto spec = result_path(J(R"j({"ResultPath": "$.a.b"})j"), none);
  expect_error([&] { spec.apply(J(R"j({"a": "str"})j"), 1); }, "lang.path.assign",
               "States.ResultPathMatchFailure",
               "Unable to apply ResultPath '$.a.b': '$.a' is a string");
}

}  // namespace
}  // namespace beamflow::lang
