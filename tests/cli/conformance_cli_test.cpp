// A sample of the ASL conformance cases driven through the real CLI:
//   beamflow run FLOW --input IN --json
// must print exactly one JSON object - {"run_id","status","output"},
// {"run_id","status","error","cause"} or {"status":"INVALID","errors":[...]} -
// and exit 0 (SUCCEEDED), 1 (FAILED) or 2 (INVALID). The engine-level runner
// (tests/conformance) covers every case; this checks the CLI's contract.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "../conformance/conformance_case.hpp"
#include "../e2e/process.hpp"

namespace beamflow::conformance {
namespace {

// One or more cases per kind of outcome and per major area.
const std::vector<std::string> kSample = {
    "pass/result_zero",
    "paths/filter_greater",
    "choice/string_matches_escapes",
    "intrinsics/hash_long_input",
    "task/add_result_path",
    "catch/result_path_into_raw_input",
    "parallel/outputs_in_branch_order",
    "map/item_selector_context",
    "succeed_fail/fail_error_path_intrinsic",
    "errors/parameter_path_failure",
    "validation/next_unknown",
    "validation/collects_every_problem",
};

int expected_exit_code(const std::string& status) {
  if (status == "SUCCEEDED") return 0;
  if (status == "FAILED") return 1;
  return 2;
}

// Reads the CLI's single JSON object into an Outcome; fails the test (and
// returns nullopt) when stdout is anything else.
std::optional<Outcome> parse_report(const std::string& out) {
  Json report;
  try {
    report = Json::parse(out);  // rejects a second object or trailing text
  } catch (const Json::parse_error& e) {
    ADD_FAILURE() << "stdout is not exactly one JSON object: " << e.what() << "\n" << out;
    return std::nullopt;
  }
  if (!report.is_object() || !report.contains("status") || !report["status"].is_string()) {
    ADD_FAILURE() << "report without a string status: " << out;
    return std::nullopt;
  }
  Outcome got;
  got.status = report["status"].get<std::string>();
  if (got.status == "INVALID") {
    got.problems = report.value("errors", Json());
    EXPECT_TRUE(got.problems.is_array() && !got.problems.empty()) << "INVALID needs a non-empty errors array: " << out;
    EXPECT_FALSE(report.contains("run_id")) << "no run exists for an invalid flow: " << out;
    return got;
  }
  EXPECT_TRUE(report.contains("run_id") && report["run_id"].is_string()) << out;
  if (got.status == "SUCCEEDED") {
    EXPECT_TRUE(report.contains("output")) << out;
    got.output = report.value("output", Json());
  } else {
    got.error = report.value("error", "");
    got.cause = report.value("cause", "");
  }
  return got;
}

class CliConformance : public ::testing::TestWithParam<std::string> {};

TEST_P(CliConformance, RunJsonReportsTheExpectedResult) {
  const fs::path file = cases_root() / (GetParam() + ".json");
  const Json doc = load_case(file);
  test::TempDir dir;
  const fs::path flow = dir.write("flow.json", doc.at("definition").dump());
  const fs::path input = dir.write("input.json", doc.value("input", Json::object()).dump());
  const test::ProcessResult r = test::run_beamflow(
      {"run", flow.string(), "--input", input.string(), "--json", "--no-fsync", "--runs-dir", (dir.path() / "runs").string()},
      dir.path());
  const std::string status = doc.at("expect").at("status").get<std::string>();
  EXPECT_EQ(r.exit_code, expected_exit_code(status)) << "stderr: " << r.err;
  const auto got = parse_report(r.out);
  ASSERT_TRUE(got.has_value()) << "stderr: " << r.err;
  const std::string why = mismatch(doc.at("expect"), *got);
  EXPECT_TRUE(why.empty()) << GetParam() << "\n" << why << "\nstderr: " << r.err;
}

INSTANTIATE_TEST_SUITE_P(Sample, CliConformance, ::testing::ValuesIn(kSample),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return test_name(cases_root() / (info.param + ".json"));
                         });

}  // namespace
}  // namespace beamflow::conformance
