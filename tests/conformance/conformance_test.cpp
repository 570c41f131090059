// The ASL conformance suite: every case under tests/conformance/cases runs
// through run::Engine with the built-in actions, in a scratch runs directory
// without fsync, and its result is compared with the case's expectation.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>

#include "../engine/engine_support.hpp"
#include "conformance_case.hpp"
#include "lang/definition.hpp"

namespace beamflow::conformance {
namespace {

// No case needs more than a few seconds; a run past this budget (a flow that
// loops forever, an engine that never finishes) is stopped and reported
// instead of hanging the suite.
constexpr auto kCaseBudget = std::chrono::seconds(10);
struct BudgetExceeded {};

Outcome run_case(const Json& doc) {
  test::ScratchDir scratch;
  run::Engine engine(test::builtin_registry());
  run::RunOptions options = test::fast_options(scratch.path());
  const auto deadline = std::chrono::steady_clock::now() + kCaseBudget;
  options.observer = [deadline](const Json&) {
    if (std::chrono::steady_clock::now() > deadline) throw BudgetExceeded{};
  };
  Outcome got;
  try {
    const run::RunResult r = engine.start(doc.at("definition"), doc.value("input", Json::object()), options);
    got.status = run::to_string(r.status);
    got.output = r.output;
    got.error = r.error.error;
    got.cause = r.error.cause;
  } catch (const lang::InvalidDefinition& e) {
    got.status = "INVALID";
    got.problems = e.problems_json();
  } catch (const Error& e) {
    got.status = "ERROR";
    got.error = e.id();
    got.cause = e.what();
  } catch (const BudgetExceeded&) {
    got.status = "TIMEOUT";
    got.cause = "the run was still going after " + std::to_string(kCaseBudget.count()) + " s (history events kept coming)";
  }
  return got;
}

class Conformance : public ::testing::TestWithParam<fs::path> {};

TEST_P(Conformance, Case) {
  const Json doc = load_case(GetParam());
  ASSERT_EQ(malformed(doc), "") << GetParam();
  const std::string why = mismatch(doc.at("expect"), run_case(doc));
  EXPECT_TRUE(why.empty()) << case_id(GetParam()) << ": " << doc.at("description").get<std::string>() << "\n"
                           << why << (doc.contains("notes") ? "\nnotes: " + doc["notes"].get<std::string>() : "");
}

INSTANTIATE_TEST_SUITE_P(Asl, Conformance, ::testing::ValuesIn(case_files()),
                         [](const ::testing::TestParamInfo<fs::path>& info) { return test_name(info.param); });

// Guards the suite itself: a moved folder or a half-written case must not
// silently shrink it.
TEST(ConformanceSuite, EveryAreaHasCases) {
  std::map<std::string, int> per_area;
  for (const auto& f : case_files()) ++per_area[case_id(f).substr(0, case_id(f).find('/'))];
  for (const char* area : {"pass", "paths", "parameters", "result_selector", "choice", "intrinsics", "wait",
                           "succeed_fail", "task", "retry", "catch", "parallel", "map", "globus", "validation",
                           "errors"}) {
    EXPECT_GE(per_area[area], 5) << "area " << area;
  }
  EXPECT_GE(case_files().size(), 150u);
}

TEST(ConformanceSuite, CasesAreWellFormedAndNamedUniquely) {
  std::set<std::string> names;
  for (const auto& f : case_files()) {
    EXPECT_EQ(malformed(load_case(f)), "") << f;
    EXPECT_TRUE(names.insert(test_name(f)).second) << "two cases map to test name " << test_name(f);
  }
}

}  // namespace
}  // namespace beamflow::conformance
