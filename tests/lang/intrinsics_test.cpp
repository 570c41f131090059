// Intrinsic functions: the AWS documentation's examples, edge cases, and
// every syntax and failure message.
#include "lang/intrinsics.hpp"

#include <regex>
#include <set>
#include <string>

#include "test_util.hpp"

namespace beamflow::lang {
namespace {

using test::expect_error;
using test::J;

const char* const kFailure = "States.IntrinsicFailure";

Json eval(const std::string& text, const Json& input = Json::object(),
          const Json& context = Json::object()) {
  return Intrinsic::parse(text).evaluate(input, context);
}

// A call whose arguments come from the input fails at evaluation.
void expect_failure(const std::string& text, const Json& input, const std::string& fragment) {
  const Intrinsic fn = Intrinsic::parse(text);
  expect_error([&] { fn.evaluate(input, Json::object()); }, "lang.intrinsic.failure", kFailure,
               fragment);
}

// With constant arguments too: AWS accepts the definition and fails the
// execution, so parsing succeeds and evaluation fails.
void expect_fails(const std::string& text, const std::string& fragment) {
  expect_failure(text, Json::object(), fragment);
}

void expect_syntax(const std::string& text, const std::string& fragment) {
  expect_error([&] { Intrinsic::parse(text); }, "lang.intrinsic.syntax", kFailure, fragment);
}

TEST(Intrinsic, LooksLikeIntrinsic) {
  EXPECT_TRUE(looks_like_intrinsic("States.Format('x')"));
  EXPECT_TRUE(looks_like_intrinsic("States.UUID()"));
  EXPECT_TRUE(looks_like_intrinsic("States.Nope (1)"));
  EXPECT_FALSE(looks_like_intrinsic("$.States.Format"));
  EXPECT_FALSE(looks_like_intrinsic("States.Format"));
  EXPECT_FALSE(looks_like_intrinsic("States.(1)"));
  EXPECT_FALSE(looks_like_intrinsic(" States.Format('x')"));
  EXPECT_FALSE(looks_like_intrinsic(""));
  EXPECT_EQ(Intrinsic::parse("States.Array( 1 ,2 )").text(), "States.Array( 1 ,2 )");
}

TEST(IntrinsicFormat, DocumentationExamples) {
  const Json input = J(R"({"name": "Arnav", "template": "Hello, my name is {}."})");
  EXPECT_EQ(eval("States.Format('Hello, my name is {}.', $.name)", input),
            "Hello, my name is Arnav.");
  EXPECT_EQ(eval("States.Format($.template, $.name)", input), "Hello, my name is Arnav.");
}

TEST(IntrinsicFormat, ValuesRenderLikeAws) {
  const Json input =
      J(R"({"n": 1, "f": 1.5, "neg": -3, "t": true, "z": null, "s": "x", "big": 1e300})");
  EXPECT_EQ(eval("States.Format('{}|{}|{}|{}|{}|{}', $.n, $.f, $.neg, $.t, $.z, $.s)", input),
            "1|1.5|-3|true|null|x");
  EXPECT_EQ(eval("States.Format('{}', $.big)", input), "1e+300");
  EXPECT_EQ(eval("States.Format('{}-{}', 42, 'lit')"), "42-lit");
  EXPECT_EQ(eval("States.Format('no placeholders')"), "no placeholders");
  EXPECT_EQ(eval("States.Format('{}{}', '', '')"), "");
}

TEST(IntrinsicFormat, Escapes) {
  EXPECT_EQ(eval(R"(States.Format('it\'s {}', 'ok'))"), "it's ok");
  EXPECT_EQ(eval(R"(States.Format('\{\} stays, {} goes', 'x'))"), "{} stays, x goes");
  EXPECT_EQ(eval(R"(States.Format('a\\b {}', 'c'))"), "a\\b c");
  EXPECT_EQ(eval(R"(States.Format('\{{}\}', 'v'))"), "{v}");
  // Lone braces need no escape; only a "{}" pair is a placeholder.
  EXPECT_EQ(eval("States.Format('{ } {')"), "{ } {");
  EXPECT_EQ(eval(R"(States.Format('{\}'))"), "{}");
  // A template from data has no escapes: every "{}" is a placeholder.
  EXPECT_EQ(eval("States.Format($.t, 1, 2)", J(R"({"t": "{}+{}"})")), "1+2");
  EXPECT_EQ(eval("States.Format('{}', $.v)", J(R"({"v": "{}"})")), "{}");
}

TEST(IntrinsicFormat, Failures) {
  expect_fails("States.Format('{} {}', 'a')",
               "States.Format: the template has 2 '{}' placeholder(s) but 1 value(s) were given");
  expect_fails("States.Format('x', 1)", "the template has 0 '{}' placeholder(s) but 1 value(s)");
  expect_failure("States.Format('{}', $.a, $.b)", J(R"({"a": 1, "b": 2})"),
                 "the template has 1 '{}' placeholder(s) but 2 value(s) were given");
  expect_failure("States.Format($.t)", J(R"({"t": 5})"),
                 "States.Format: argument 1 must be a string, not a number");
  expect_fails("States.Format(1)", "argument 1 must be a string, not a number");
  // The spec: "The Value MUST NOT be a JSON array or object".
  expect_failure(
      "States.Format('{}', $.o)", J(R"({"o": {"k": 1}})"),
      "States.Format: argument 2 must be a string, number, boolean or null, not an object");
  expect_fails("States.Format('{}{}', 1, States.Array())",
               "argument 3 must be a string, number, boolean or null, not an array");
}

TEST(IntrinsicJson, StringToJsonAndBack) {
  EXPECT_EQ(eval("States.StringToJson($.s)", J(R"({"s": "{\"foo\": \"bar\"}"})")),
            J(R"({"foo": "bar"})"));
  EXPECT_EQ(eval("States.StringToJson('[1, 2.5, null]')"), J("[1, 2.5, null]"));
  EXPECT_EQ(eval("States.StringToJson(' 7 ')"), J("7"));
  EXPECT_EQ(eval("States.JsonToString($.u)", J(R"({"u": {"foo": "bar"}})")), R"({"foo":"bar"})");
  EXPECT_EQ(eval("States.JsonToString($.u)", J(R"({"u": [1, "x", null]})")), R"([1,"x",null])");
  EXPECT_EQ(eval("States.JsonToString('text')"), R"("text")");
  EXPECT_EQ(eval("States.StringToJson(States.JsonToString($))", J(R"({"k": [1, {"z": 2}]})")),
            J(R"({"k": [1, {"z": 2}]})"));
}

TEST(IntrinsicJson, Failures) {
  expect_failure("States.StringToJson($.s)", J(R"({"s": "{bad"})"),
                 "States.StringToJson: argument 1 is not valid JSON: parse error");
  expect_fails("States.StringToJson('')", "argument 1 is not valid JSON");
  expect_failure("States.StringToJson($.s)", J(R"({"s": 1})"),
                 "argument 1 must be a string, not a number");
  expect_failure("States.StringToJson($.s)",
                 Json{{"s", std::string(600, '[') + std::string(600, ']')}},
                 "the JSON nests deeper than 512 levels");
  Json deep = Json::object();
  for (int i = 0; i < 600; ++i) deep = Json{{"k", deep}};
  expect_failure("States.JsonToString($.d)", Json{{"d", deep}},
                 "the value nests deeper than 512 levels");
}

TEST(IntrinsicJson, JsonMergeIsShallow) {
  const Json input = J(R"({"json1": {"a": {"a1": 1, "a2": 2}, "b": 2},
                           "json2": {"a": {"a3": 1, "a4": 2}, "c": 3}})");
  EXPECT_EQ(eval("States.JsonMerge($.json1, $.json2, false)", input),
            J(R"({"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3})"));
  EXPECT_EQ(eval("States.JsonMerge($.json1, $.json1, false)", input), input["json1"]);
  expect_failure(
      "States.JsonMerge($.json1, $.json2, true)", input,
      "States.JsonMerge: deep merge is not supported (as in AWS); argument 3 must be false");
  expect_failure("States.JsonMerge($.json1, $.json2, 0)", input,
                 "argument 3 (deep merge) must be a boolean, not a number");
  expect_failure("States.JsonMerge($.json1.b, $.json2, false)", input,
                 "argument 1 must be an object, not a number");
  expect_failure("States.JsonMerge($.json1, States.Array(), false)", input,
                 "argument 2 must be an object, not an array");
}

TEST(IntrinsicArray, ArrayAndLength) {
  EXPECT_EQ(eval("States.Array($.Id)", J(R"({"Id": 123456})")), J("[123456]"));
  EXPECT_EQ(eval("States.Array()"), J("[]"));
  EXPECT_EQ(eval("States.Array('a', 1, true, null, -2.5, $.o)", J(R"({"o": {"x": [1]}})")),
            J(R"(["a", 1, true, null, -2.5, {"x": [1]}])"));
  EXPECT_EQ(eval("States.ArrayLength($.a)", J(R"({"a": [1, 2, 3, 4, 5, 6, 7, 8, 9]})")), 9);
  EXPECT_EQ(eval("States.ArrayLength(States.Array())"), 0);
  expect_failure("States.ArrayLength($.a)", J(R"({"a": "123"})"),
                 "States.ArrayLength: argument 1 must be an array, not a string");
}

TEST(IntrinsicArray, Partition) {
  const Json input = J(R"({"a": [1, 2, 3, 4, 5, 6, 7, 8, 9]})");
  EXPECT_EQ(eval("States.ArrayPartition($.a, 4)", input), J("[[1, 2, 3, 4], [5, 6, 7, 8], [9]]"));
  EXPECT_EQ(eval("States.ArrayPartition($.a, 9)", input), J("[[1, 2, 3, 4, 5, 6, 7, 8, 9]]"));
  EXPECT_EQ(eval("States.ArrayPartition($.a, 20)", input), J("[[1, 2, 3, 4, 5, 6, 7, 8, 9]]"));
  EXPECT_EQ(eval("States.ArrayPartition($.a, 4.4)", input), J("[[1, 2, 3, 4], [5, 6, 7, 8], [9]]"));
  EXPECT_EQ(eval("States.ArrayPartition(States.Array(), 2)"), J("[]"));
  expect_fails("States.ArrayPartition(States.Array(1), 0)",
               "States.ArrayPartition: chunk size must be a positive integer, not 0");
  expect_failure("States.ArrayPartition($.a, -3)", input,
                 "chunk size must be a positive integer, not -3");
  expect_failure("States.ArrayPartition($.a, 0.4)", input,
                 "chunk size must be a positive integer, not 0");
  expect_failure("States.ArrayPartition($.a, '2')", input,
                 "argument 2 must be an integer, not a string");
  expect_failure("States.ArrayPartition($.a[0], 2)", input,
                 "argument 1 must be an array, not a number");
}

TEST(IntrinsicArray, Contains) {
  const Json input = J(R"({"a": [1, "x", {"k": [1]}, null, 2.0]})");
  EXPECT_EQ(eval("States.ArrayContains($.a, 'x')", input), true);
  EXPECT_EQ(eval("States.ArrayContains($.a, $.a[2])", input), true);
  EXPECT_EQ(eval("States.ArrayContains($.a, null)", input), true);
  EXPECT_EQ(eval("States.ArrayContains($.a, 2)", input), true);
  EXPECT_EQ(eval("States.ArrayContains($.a, '1')", input), false);
  EXPECT_EQ(eval("States.ArrayContains(States.Array(), 1)"), false);
  expect_failure("States.ArrayContains($.a[1], 'x')", input,
                 "States.ArrayContains: argument 1 must be an array, not a string");
}

TEST(IntrinsicArray, Range) {
  EXPECT_EQ(eval("States.ArrayRange(1, 9, 2)"), J("[1, 3, 5, 7, 9]"));
  EXPECT_EQ(eval("States.ArrayRange(0, 10, 3)"), J("[0, 3, 6, 9]"));
  EXPECT_EQ(eval("States.ArrayRange(1, 9, 9)"), J("[1]"));
  EXPECT_EQ(eval("States.ArrayRange(9, 1, -2)"), J("[9, 7, 5, 3, 1]"));
  EXPECT_EQ(eval("States.ArrayRange(1, 9, -1)"), J("[]"));
  EXPECT_EQ(eval("States.ArrayRange(5, 5, 1)"), J("[5]"));
  EXPECT_EQ(eval("States.ArrayRange(0.5, 2.4, 1)"), J("[1, 2]"));
  EXPECT_EQ(eval("States.ArrayRange(1, 1000, 1)").size(), 1000u);
  expect_fails("States.ArrayRange(1, 9, 0)",
               "States.ArrayRange: the step (argument 3) must not be zero");
  expect_fails("States.ArrayRange(0, 1000, 1)",
               "States.ArrayRange: the range would hold 1001 items; the limit is 1000");
  expect_fails("States.ArrayRange(-2147483648, 2147483647, 1)", "the limit is 1000");
  expect_failure("States.ArrayRange($.s, 9, 1)", J(R"({"s": "1"})"),
                 "argument 1 must be an integer, not a string");
  expect_fails("States.ArrayRange(1, 3000000000, 1)",
               "argument 2 must be an integer between -2147483648 and 2147483647, not 3000000000");
}

TEST(IntrinsicArray, GetItem) {
  const Json input = J(R"({"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "index": 5})");
  EXPECT_EQ(eval("States.ArrayGetItem($.inputArray, $.index)", input), 6);
  EXPECT_EQ(eval("States.ArrayGetItem($.inputArray, 0)", input), 1);
  EXPECT_EQ(eval("States.ArrayGetItem($.inputArray, 8)", input), 9);
  expect_failure("States.ArrayGetItem($.inputArray, 9)", input,
                 "States.ArrayGetItem: index 9 is out of range for an array of 9 items");
  expect_failure("States.ArrayGetItem($.inputArray, -1)", input, "index -1 is out of range");
  expect_failure("States.ArrayGetItem($.index, 0)", input,
                 "argument 1 must be an array, not a number");
  expect_failure("States.ArrayGetItem($.inputArray, true)", input,
                 "argument 2 must be an integer, not a boolean");
}

TEST(IntrinsicArray, Unique) {
  EXPECT_EQ(eval("States.ArrayUnique($.a)", J(R"({"a": [1, 2, 3, 3, 3, 3, 3, 3, 4]})")),
            J("[1, 2, 3, 4]"));
  EXPECT_EQ(eval("States.ArrayUnique($.a)",
                 J(R"({"a": [null, null, true, true, "x", "x", [], [], {"a": 1, "b": 2},
                             {"b": 2, "a": 1}, {"a": 1}, 1, 1.0, 0]})")),
            J(R"([null, true, "x", [], {"a": 1, "b": 2}, {"a": 1}, 1, 0])"));
  EXPECT_EQ(eval("States.ArrayUnique($.a)", J(R"({"a": [3, 1, 3, 2, 1]})")), J("[3, 1, 2]"));
  expect_failure("States.ArrayUnique($.a)", J(R"({"a": {}})"),
                 "States.ArrayUnique: argument 1 must be an array, not an object");
}

TEST(IntrinsicCodec, Base64) {
  EXPECT_EQ(eval("States.Base64Encode($.input)", J(R"({"input": "Data to encode"})")),
            "RGF0YSB0byBlbmNvZGU=");
  EXPECT_EQ(eval("States.Base64Decode($.b)", J(R"({"b": "RGF0YSB0byBlbmNvZGU="})")),
            "Data to encode");
  EXPECT_EQ(eval("States.Base64Encode('héllo ✓ 𝄞')"), "aMOpbGxvIOKckyDwnYSe");
  EXPECT_EQ(eval("States.Base64Decode('aMOpbGxvIOKckyDwnYSe')"), "héllo ✓ 𝄞");
  EXPECT_EQ(eval("States.Base64Encode('')"), "");
  EXPECT_EQ(eval("States.Base64Encode('a')"), "YQ==");
  EXPECT_EQ(eval("States.Base64Encode('ab')"), "YWI=");
  EXPECT_EQ(eval("States.Base64Decode('YQ')"), "a");  // padding is optional
  EXPECT_EQ(eval("States.Base64Decode('YWI=')"), "ab");
  // Bytes that are not UTF-8 decode to U+FFFD, as in Java.
  EXPECT_EQ(eval("States.Base64Decode('/w==')"), "\xEF\xBF\xBD");
  // 7500 bytes encode to exactly 10000 characters, the most either accepts.
  const std::string limit(7500, 'x');
  EXPECT_EQ(eval("States.Base64Decode(States.Base64Encode($.s))", Json{{"s", limit}}), limit);
}

TEST(IntrinsicCodec, Base64Failures) {
  expect_fails("States.Base64Decode('a*==')",
               "States.Base64Decode: argument 1 is not valid base64: character 1 is not in the "
               "base64 alphabet");
  expect_fails("States.Base64Decode('Y')",
               "argument 1 is not valid base64: its length or '=' padding is wrong");
  expect_fails("States.Base64Decode('YQ=')", "its length or '=' padding is wrong");
  expect_fails("States.Base64Decode('Y Q=')", "character 1 is not in the base64 alphabet");
  expect_fails("States.Base64Decode('YQ==YQ==')", "character 2 is not in the base64 alphabet");
  expect_failure("States.Base64Encode($.s)", Json{{"s", std::string(10001, 'x')}},
                 "States.Base64Encode: argument 1 is longer than the limit of 10000 characters");
  expect_failure("States.Base64Decode($.s)", Json{{"s", std::string(10004, 'Q')}},
                 "States.Base64Decode: argument 1 is longer than the limit of 10000 characters");
  expect_failure("States.Base64Encode($.s)", J(R"({"s": [1]})"),
                 "argument 1 must be a string, not an array");
}

TEST(IntrinsicCodec, Hash) {
  EXPECT_EQ(eval("States.Hash($.Data, $.Algorithm)",
                 J(R"({"Data": "input data", "Algorithm": "SHA-1"})")),
            "aaff4a450a104cd177d28d18d74485e8cae074b7");
  EXPECT_EQ(eval("States.Hash('', 'MD5')"), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(eval("States.Hash('abc', 'MD5')"), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(eval("States.Hash('abc', 'SHA-1')"), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(eval("States.Hash('abc', 'SHA-256')"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(eval("States.Hash('abc', 'SHA-384')"),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baec"
            "a134c825a7");
  EXPECT_EQ(eval("States.Hash('abc', 'SHA-512')"),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
  EXPECT_EQ(eval("States.Hash('héllo ✓', 'MD5')"), "21b1ae5bc147bb564254200a4731e337");
  // The longest input AWS accepts.
  EXPECT_EQ(eval("States.Hash($.s, 'SHA-256')", Json{{"s", std::string(10000, 'a')}}),
            "27dd1f61b867b6a0f6e9d8a41c43231de52107e53ae424de8f847b821db4b711");
}

TEST(IntrinsicCodec, HashFailures) {
  expect_fails(
      "States.Hash('x', 'SHA-224')",
      "States.Hash: unsupported algorithm 'SHA-224'; use MD5, SHA-1, SHA-256, SHA-384 or SHA-512");
  expect_fails("States.Hash('x', 'sha-256')", "unsupported algorithm 'sha-256'");
  expect_failure("States.Hash($.s, 'MD5')", Json{{"s", std::string(10001, 'a')}},
                 "argument 1 is longer than the limit of 10000 characters");
  // Length is counted in UTF-16 units, as Java does: 5000 x U+1D11E is 10000.
  std::string clefs;
  for (int i = 0; i < 5000; ++i) clefs += "𝄞";
  EXPECT_NO_THROW(eval("States.Hash($.s, 'MD5')", Json{{"s", clefs}}));
  expect_failure("States.Hash($.s, 'MD5')", Json{{"s", clefs + "x"}}, "longer than the limit");
  expect_failure("States.Hash($.n, 'MD5')", J(R"({"n": 5})"),
                 "argument 1 must be a string, not a number");
  expect_fails("States.Hash('x', null)", "argument 2 must be a string, not null");
}

TEST(IntrinsicMath, Add) {
  EXPECT_EQ(eval("States.MathAdd($.value1, $.step)", J(R"({"value1": 111, "step": -1})")), 110);
  EXPECT_EQ(eval("States.MathAdd(-9, 3)"), -6);
  EXPECT_EQ(eval("States.MathAdd(2147483647, 2147483647)"), 4294967294LL);
  // The spec asks for integers; AWS rounds fractions, beamflow refuses them.
  EXPECT_EQ(eval("States.MathAdd(2.0, 1)"), 3);
  expect_fails("States.MathAdd(1.5, 0)", "States.MathAdd: argument 1 must be an integer, not 1.5");
  expect_fails("States.MathAdd(1, -0.5)", "argument 2 must be an integer, not -0.5");
  expect_fails("States.MathAdd(2147483648, 1)",
               "States.MathAdd: argument 1 must be an integer between -2147483648 and 2147483647, "
               "not 2147483648");
  expect_fails("States.MathAdd(1, -2147483649)", "argument 2 must be an integer between");
  expect_fails("States.MathAdd('1', 1)",
               "States.MathAdd: argument 1 must be an integer, not a string");
  expect_failure("States.MathAdd($.a, 1)", J(R"({"a": null})"),
                 "argument 1 must be an integer, not null");
}

TEST(IntrinsicMath, RandomStaysInItsHalfOpenRange) {
  std::set<std::int64_t> seen;
  for (int i = 0; i < 400; ++i) {
    const Json v = eval("States.MathRandom(3, 7)");
    ASSERT_TRUE(v.is_number_integer());
    ASSERT_GE(v.get<std::int64_t>(), 3);
    ASSERT_LT(v.get<std::int64_t>(), 7);
    seen.insert(v.get<std::int64_t>());
  }
  EXPECT_EQ(seen, (std::set<std::int64_t>{3, 4, 5, 6}));
  EXPECT_EQ(eval("States.MathRandom(-5, -4)"), -5);
  EXPECT_EQ(eval("States.MathRandom(1.6, 2.7)"), 2);  // rounds to [2, 3)
  const Json big = eval("States.MathRandom(-2147483648, 2147483647)");
  EXPECT_GE(big.get<std::int64_t>(), -2147483648LL);
}

TEST(IntrinsicMath, SeededRandomIsReproducible) {
  const Json first = eval("States.MathRandom(0, 1000000, 42)");
  for (int i = 0; i < 5; ++i) EXPECT_EQ(eval("States.MathRandom(0, 1000000, 42)"), first);
  EXPECT_EQ(eval("States.MathRandom(0, 1000000, $.s)", J(R"({"s": 42.2})")), first);
  std::set<Json> by_seed;
  for (int seed = 0; seed < 20; ++seed) {
    by_seed.insert(eval("States.MathRandom(0, 1000000, " + std::to_string(seed) + ")"));
  }
  EXPECT_GT(by_seed.size(), 15u);
  EXPECT_NO_THROW(eval("States.MathRandom(0, 10, -7)"));
  EXPECT_NO_THROW(eval("States.MathRandom(0, 10, 18446744073709551615)"));
}

TEST(IntrinsicMath, RandomFailures) {
  expect_fails("States.MathRandom(5, 5)",
               "States.MathRandom: the start 5 must be less than the end 5");
  expect_fails("States.MathRandom(9, 1)", "the start 9 must be less than the end 1");
  expect_fails("States.MathRandom(1, 9, 'seed')",
               "argument 3 (seed) must be a number, not a string");
  expect_fails("States.MathRandom(1, 9, 1e300)", "argument 3 (seed) is out of range");
  expect_failure("States.MathRandom($.a, 9)", J(R"({"a": [1]})"),
                 "argument 1 must be an integer, not an array");
}

TEST(IntrinsicString, Split) {
  EXPECT_EQ(eval("States.StringSplit($.inputString, $.splitter)",
                 J(R"({"inputString": "1,2,3,4,5", "splitter": ","})")),
            J(R"(["1", "2", "3", "4", "5"])"));
  EXPECT_EQ(eval("States.StringSplit($.inputString, $.splitter)",
                 J(R"({"inputString": "This.is+a,test=string", "splitter": ".+,="})")),
            J(R"(["This", "is", "a", "test", "string"])"));
  EXPECT_EQ(eval("States.StringSplit(',a,,b,', ',')"), J(R"(["a", "b"])"));
  EXPECT_EQ(eval("States.StringSplit('abc', '')"), J(R"(["abc"])"));
  EXPECT_EQ(eval("States.StringSplit('', ',')"), J("[]"));
  EXPECT_EQ(eval("States.StringSplit(',,,', ',')"), J("[]"));
  EXPECT_EQ(eval("States.StringSplit('a b\tc', ' \t')"), J(R"(["a", "b", "c"])"));
  // Delimiters are characters, not bytes: 'é' does not split 'è'.
  EXPECT_EQ(eval("States.StringSplit('xéyèz', 'é')"), J(R"(["x", "yèz"])"));
  EXPECT_EQ(eval("States.ArrayGetItem(States.StringSplit($$.Execution.Id, ':'), 3)", Json::object(),
                 J(R"({"Execution": {"Id": "arn:aws:states:eu-west-1:123:execution:m:e"}})")),
            "eu-west-1");
  expect_fails("States.StringSplit(1, ',')",
               "States.StringSplit: argument 1 must be a string, not a number");
  expect_failure("States.StringSplit('a', $.d)", J(R"({"d": true})"),
                 "argument 2 must be a string, not a boolean");
}

TEST(IntrinsicUuid, IsRandomVersion4) {
  const std::regex v4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    const std::string id = eval("States.UUID()").get<std::string>();
    EXPECT_TRUE(std::regex_match(id, v4)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 50u);
}

// The AWS guide's nine-call example, with its template fixed to two
// placeholders: as printed ('{}.{}.{}' with two values) it would fail.
TEST(IntrinsicNesting, DocumentationExampleWithNineCalls) {
  const Json input = J(
      R"({"ImageRecipe": {"Arn": "arn:aws:imagebuilder:us-east-1:123:image-recipe/my-recipe.v1/1.0.0"}})");
  EXPECT_EQ(
      eval("States.Format('{}.{}', States.ArrayGetItem(States.StringSplit(States.ArrayGetItem("
           "States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 0), States.ArrayGetItem("
           "States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), "
           "'.'), 1))",
           input),
      "1.0");
}

TEST(IntrinsicNesting, AtMostTenCallsPerExpression) {
  std::string ten = "1";
  for (int i = 0; i < 10; ++i) ten = "States.Array(" + ten + ")";
  EXPECT_EQ(eval(ten), J("[[[[[[[[[[1]]]]]]]]]]"));
  expect_syntax("States.Array(" + ten + ")", "more than 10 intrinsic functions in one expression");
  std::string wide = "States.Array(";
  for (int i = 0; i < 11; ++i) wide += std::string(i ? "," : "") + "States.UUID()";
  expect_syntax(wide + ")", "more than 10 intrinsic functions");
  // Deep nesting of garbage fails on the call count long before the stack.
  std::string deep;
  for (int i = 0; i < 4000; ++i) deep += "States.Array(";
  expect_syntax(deep, "more than 10 intrinsic functions");
}

TEST(IntrinsicPaths, PathArguments) {
  const Json input = J(
      R"j({"a,b": "comma", "arr": [1, 2, 3], "items": [{"n": "x)", "v": 1}, {"n": "y", "v": 2}]})j");
  EXPECT_EQ(eval("States.Array($['a,b'])", input), J(R"(["comma"])"));
  EXPECT_EQ(eval("States.Array($.arr[0,2], $.arr[1:])", input), J("[[1, 3], [2, 3]]"));
  EXPECT_EQ(eval("States.Array($.items[?(@.n == 'x)')].v)", input), J("[[1]]"));
  EXPECT_EQ(eval("States.Array( $.arr[0] , $$.k )", input, J(R"({"k": "ctx"})")),
            J(R"([1, "ctx"])"));
  EXPECT_EQ(eval("States.ArrayLength($)", J("[1, 2]")), 2);
  const Intrinsic fn = Intrinsic::parse("States.Array($.missing)");
  expect_error([&] { fn.evaluate(input, Json::object()); }, "lang.path.no_match", kFailure,
               "Invalid path '$.missing': it matches nothing in the input");
}

struct BadIntrinsic {
  const char* text;
  const char* fragment;
};

class IntrinsicSyntax : public ::testing::TestWithParam<BadIntrinsic> {};

TEST_P(IntrinsicSyntax, IsRejectedWithItsReason) {
  expect_syntax(GetParam().text, GetParam().fragment);
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, IntrinsicSyntax,
    ::testing::Values(
        BadIntrinsic{"Format('x')", "must begin with 'States.'"},
        BadIntrinsic{"States.Nope(1)", "unknown intrinsic function 'States.Nope' at offset 0"},
        BadIntrinsic{"States.format('x')", "unknown intrinsic function 'States.format'"},
        BadIntrinsic{"States.Array", "ends before '('"},
        BadIntrinsic{"States.Array[1]", "expected '(' after States.Array"},
        BadIntrinsic{"States.Array(1", "ends before ')'"},
        BadIntrinsic{"States.Array(1,", "ends where an argument is expected"},
        BadIntrinsic{"States.Array(1;2)", "not '1;2' at offset 13"},
        BadIntrinsic{"States.Array(1 2)", "unexpected character '2'; expected ',' or ')'"},
        BadIntrinsic{"States.Array(1))", "unexpected text after the closing ')'"},
        BadIntrinsic{"States.Array(1) ", "unexpected text after the closing ')'"},
        BadIntrinsic{"States.Array('abc)", "unterminated string literal"},
        BadIntrinsic{"States.Array('abc\\", "unterminated string literal"},
        BadIntrinsic{"States.Array('a\\nb')",
                     "invalid escape '\\n'; only \\' \\{ \\} and \\\\ are escapes"},
        BadIntrinsic{"States.Array(\"dq\")", "expected a 'string', a number, true, false, null"},
        BadIntrinsic{"States.Array(abc)", "not 'abc'"},
        BadIntrinsic{"States.Array(1.2.3)", "not '1.2.3'"},
        BadIntrinsic{"States.Array($.a b)", "unexpected character 'b'"},
        BadIntrinsic{"States.Array($.)", "bad path argument: Invalid path '$.'"},
        BadIntrinsic{"States.Array($[)", "bad path argument"},
        BadIntrinsic{"States.ArrayRange(1, 2)", "States.ArrayRange takes 3 arguments, not 2"},
        BadIntrinsic{"States.MathRandom(1)", "States.MathRandom takes 2 to 3 arguments, not 1"},
        BadIntrinsic{"States.Format()", "States.Format takes at least 1 argument, not 0"},
        BadIntrinsic{"States.UUID(1)", "States.UUID takes 0 arguments, not 1"},
        BadIntrinsic{"States.ArrayLength()", "States.ArrayLength takes 1 argument, not 0"}));

TEST(IntrinsicSyntax, OverlongTextIsRejected) {
  expect_syntax("States.Format('" + std::string(70000, 'x') + "')",
                "is longer than 65536 characters");
}

}  // namespace
}  // namespace beamflow::lang
