// The comparison the conformance runners rely on: a case must fail when the
// run differs from the expectation in any way the format can express.
#include <gtest/gtest.h>

#include "conformance_case.hpp"

namespace beamflow::conformance {
namespace {

Outcome succeeded(Json output) {
  Outcome o;
  o.status = "SUCCEEDED";
  o.output = std::move(output);
  return o;
}

Outcome failed(std::string error, std::string cause) {
  Outcome o;
  o.status = "FAILED";
  o.error = std::move(error);
  o.cause = std::move(cause);
  return o;
}

Outcome invalid(Json problems) {
  Outcome o;
  o.status = "INVALID";
  o.problems = std::move(problems);
  return o;
}

TEST(Compare, SucceededNeedsExactOutput) {
  const Json expect = {{"status", "SUCCEEDED"}, {"output", {{"a", 1}}}};
  EXPECT_EQ(mismatch(expect, succeeded({{"a", 1}})), "");
  EXPECT_NE(mismatch(expect, succeeded({{"a", 2}})), "");
  EXPECT_NE(mismatch(expect, succeeded({{"a", 1}, {"b", 2}})), "");
  EXPECT_NE(mismatch(expect, succeeded(Json::array({1}))), "");
}

TEST(Compare, FalsyOutputsAreValues) {
  EXPECT_EQ(mismatch({{"status", "SUCCEEDED"}, {"output", 0}}, succeeded(0)), "");
  EXPECT_NE(mismatch({{"status", "SUCCEEDED"}, {"output", 0}}, succeeded(false)), "");
  EXPECT_NE(mismatch({{"status", "SUCCEEDED"}, {"output", nullptr}}, succeeded(Json::object())), "");
}

TEST(Compare, StatusMustMatch) {
  const std::string why = mismatch({{"status", "SUCCEEDED"}, {"output", 1}}, failed("E", "c"));
  EXPECT_NE(why.find("expected status SUCCEEDED"), std::string::npos) << why;
  EXPECT_NE(why.find("'E'"), std::string::npos) << why;
}

TEST(Compare, FailedChecksErrorAndOptionalCause) {
  EXPECT_EQ(mismatch({{"status", "FAILED"}, {"error", "E"}}, failed("E", "anything")), "");
  EXPECT_NE(mismatch({{"status", "FAILED"}, {"error", "E"}}, failed("F", "")), "");
  EXPECT_EQ(mismatch({{"status", "FAILED"}, {"error", "E"}, {"cause", "c"}}, failed("E", "c")), "");
  EXPECT_NE(mismatch({{"status", "FAILED"}, {"error", "E"}, {"cause", "c"}}, failed("E", "c2")), "");
  EXPECT_EQ(mismatch({{"status", "FAILED"}, {"error", "E"}, {"cause_contains", "disk"}}, failed("E", "no disk space")),
            "");
  EXPECT_NE(mismatch({{"status", "FAILED"}, {"error", "E"}, {"cause_contains", "disk"}}, failed("E", "no memory")), "");
}

TEST(Compare, InvalidNeedsEveryFragmentInSomeProblem) {
  const Json problems = Json::array({{{"pointer", "/States/A/Next"}, {"state", "A"}, {"message", "unknown state 'b'"}},
                                     {{"pointer", ""}, {"state", ""}, {"message", "missing StartAt"}}});
  const Json expect = {{"status", "INVALID"}, {"problems_contain", {"/States/A/Next", "startat"}}};
  EXPECT_EQ(mismatch(expect, invalid(problems)), "");
  const std::string why =
      mismatch({{"status", "INVALID"}, {"problems_contain", {"/States/A/Next", "Timeout"}}}, invalid(problems));
  EXPECT_NE(why.find("no problem mentions 'Timeout'"), std::string::npos) << why;
  EXPECT_NE(mismatch(expect, invalid(Json::array())), "");
}

TEST(Compare, MalformedCasesAreNamed) {
  const Json ok = {{"description", "d"}, {"spec", "s"}, {"definition", Json::object()},
                   {"expect", {{"status", "FAILED"}, {"error", "E"}}}};
  EXPECT_EQ(malformed(ok), "");
  Json bad = ok;
  bad["expect"]["status"] = "PASSED";
  EXPECT_NE(malformed(bad).find("PASSED"), std::string::npos);
  bad = ok;
  bad.erase("spec");
  EXPECT_NE(malformed(bad).find("spec"), std::string::npos);
  bad = ok;
  bad["expect"] = {{"status", "INVALID"}, {"problems_contain", Json::array()}};
  EXPECT_NE(malformed(bad), "");
}

TEST(Compare, TestNamesComeFromPaths) {
  EXPECT_EQ(case_id(cases_root() / "choice" / "string_equals.json"), "choice/string_equals");
  EXPECT_EQ(test_name(cases_root() / "choice" / "string-equals.json"), "choice_string_equals");
}

}  // namespace
}  // namespace beamflow::conformance
