// The depth-limited parse every JSON entry point goes through (issue 9 §3).
#include "core/json_parse.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <chrono>
#include <string>

#include "core/error.hpp"

namespace beamflow {
namespace {

std::string nested_arrays(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

std::string nested_objects(std::size_t depth) {
  std::string s;
  for (std::size_t i = 0; i < depth; ++i) s += "{\"a\":";
  s += "1";
  s += std::string(depth, '}');
  return s;
}

std::string context(const Error& e, const std::string& key) {
  for (const auto& [k, v] : e.context())
    if (k == key) return v;
  return "";
}

TEST(JsonParse, AcceptsDepthUpToTheLimit) {
  EXPECT_EQ(parse_json(nested_arrays(kMaxJsonDepth), "t").dump(), nested_arrays(kMaxJsonDepth));
  EXPECT_NO_THROW(parse_json(nested_objects(kMaxJsonDepth), "t"));
  EXPECT_EQ(parse_json("7", "t"), Json(7));
}

TEST(JsonParse, RejectsOneLevelTooDeepWithTypedError) {
  try {
    parse_json(nested_arrays(kMaxJsonDepth + 1), "flow.json");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.id(), "json.too_deep");
    EXPECT_EQ(e.asl_name(), "States.DataLimitExceeded");
    EXPECT_EQ(context(e, "source"), "flow.json");
    EXPECT_EQ(context(e, "limit"), "512");
    EXPECT_EQ(context(e, "offset"), "512");
    EXPECT_NE(std::string(e.what()).find("512"), std::string::npos);
  }
}

// 70,000 deep crashed with SIGSEGV; 20,000-50,000 deep took GBs and seconds.
TEST(JsonParse, HugeDepthIsRejectedQuicklyInBoundedMemory) {
  for (const std::size_t depth : {20'000u, 70'000u, 1'000'000u}) {
    const std::string text = nested_objects(depth);
    rusage before{};
    getrusage(RUSAGE_SELF, &before);
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_THROW(parse_json(text, "stdin"), Error);
    EXPECT_FALSE(try_parse_json(nested_arrays(depth)));
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rusage after{};
    getrusage(RUSAGE_SELF, &after);
    EXPECT_LT(s, 1.0) << depth;
    EXPECT_LT(after.ru_maxrss - before.ru_maxrss, 64 * 1024) << "KiB grown at depth " << depth;
  }
}

TEST(JsonParse, SyntaxErrorsAreTypedWithLineAndColumn) {
  try {
    parse_json("{\n  \"a\": ,\n}", "input.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.id(), "json.syntax");
    EXPECT_EQ(context(e, "source"), "input.json");
    EXPECT_EQ(context(e, "line"), "2");
  }
  EXPECT_THROW(parse_json("{\"a\": 1e999}", "t"), Error);
  EXPECT_THROW(parse_json("\"\xff\"", "t"), Error);
  EXPECT_THROW(parse_json("1 2", "t"), Error);
  EXPECT_FALSE(try_parse_json("{\"a\": 1e999}"));
  EXPECT_FALSE(try_parse_json(""));
}

TEST(JsonParse, CborRoundTripsAndIsDepthLimited) {
  const Json v = {{"a", {1, 2, {{"b", nullptr}}}}, {"s", "é"}};
  EXPECT_EQ(parse_cbor(Json::to_cbor(v), "journal"), v);
  // 200,000 nested CBOR arrays (0x81 = array of one) crashed replay.
  std::vector<std::uint8_t> deep(200'000, 0x81);
  deep.push_back(0x01);
  try {
    parse_cbor(deep, "journal@64");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.id(), "json.too_deep");
    EXPECT_EQ(context(e, "source"), "journal@64");
  }
  EXPECT_THROW(parse_cbor({0x82, 0x01}, "j"), Error);  // truncated
}

TEST(JsonParse, DumpCompactHasNoIndentation) {
  EXPECT_EQ(dump_compact(Json{{"a", {1, 2}}}), "{\"a\":[1,2]}");
  EXPECT_EQ(dump_compact(Json("\xff")), "\"\xEF\xBF\xBD\"");
}

}  // namespace
}  // namespace beamflow

namespace beamflow {
namespace {

TEST(JsonParse, KeepSyntaxErrorsLetsNlohmannReportThem) {
  EXPECT_THROW(parse_json_keep_syntax_errors("{\"a\": }", "f"), Json::parse_error);
  EXPECT_THROW(parse_json_keep_syntax_errors("[1e999]", "f"), Json::exception);
  try {
    parse_json_keep_syntax_errors(std::string(70'000, '['), "stdin");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.id(), "json.too_deep");
  }
  EXPECT_EQ(parse_json_keep_syntax_errors("[1]", "f"), Json::array({1}));
}

}  // namespace
}  // namespace beamflow
