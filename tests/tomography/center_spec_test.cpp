#include "jobs/tomography/center_spec.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "tomo_fixture.hpp"

namespace beamflow::jobs {
namespace {

using testing::expect_error;

TEST(CenterSpec, ParsesEveryForm) {
  EXPECT_TRUE(CenterSpec::parse("auto").is_auto());
  EXPECT_EQ(CenterSpec::parse("auto").samples, 1);
  EXPECT_EQ(CenterSpec::parse("auto:5").samples, 5);
  EXPECT_EQ(CenterSpec::parse("127.25").resolve({0, 3}), (std::vector<double>{127.25, 127.25, 127.25}));
  EXPECT_EQ(CenterSpec::parse("1,2,3").resolve({7, 10}), (std::vector<double>{1, 2, 3}));
  // fit through (0, 100) and (10, 101): 100 + 0.1 row.
  const auto fit = CenterSpec::parse("fit:0=100,10=101").resolve({5, 7});
  EXPECT_NEAR(fit[0], 100.5, 1e-12);
  EXPECT_NEAR(fit[1], 100.6, 1e-12);
}

TEST(CenterSpec, ReadsFilesIncludingFindCenterOutput) {
  testing::ScratchDir dir;
  const auto base = dir / std::to_string(testing::world().rank());
  std::ofstream(base.string() + ".txt") << "10.5\n11.5 12.5\n";
  EXPECT_EQ(CenterSpec::parse(base.string() + ".txt").resolve({0, 3}),
            (std::vector<double>{10.5, 11.5, 12.5}));
  std::ofstream(base.string() + ".json") << R"({"center": 64.75, "confidence": 3, "method": "vo"})";
  EXPECT_EQ(CenterSpec::parse(base.string() + ".json").resolve({0, 2}), (std::vector<double>{64.75, 64.75}));
  std::ofstream(base.string() + "-fit.json") << R"({"center": 64, "fit": {"intercept": 60, "slope": 0.5}})";
  EXPECT_EQ(CenterSpec::parse(base.string() + "-fit.json").resolve({2, 4}), (std::vector<double>{61, 61.5}));
  std::ofstream(base.string() + ".arr") << "[1, 2]";
  EXPECT_EQ(CenterSpec::parse(base.string() + ".arr").resolve({0, 2}), (std::vector<double>{1, 2}));
}

TEST(CenterSpec, BadSpecsAreUsageErrors) {
  expect_error([] { CenterSpec::parse("auto:0"); }, "tomo.usage.center", {"auto:K"});
  expect_error([] { CenterSpec::parse("fit:1=2,x"); }, "tomo.usage.center", {"ROW=CENTRE"});
  expect_error([] { CenterSpec::parse("1,two,3"); }, "tomo.usage.center", {"'two' is not a number"});
  expect_error([] { CenterSpec::parse("/no/such/centres.txt"); }, "tomo.usage.center", {"readable file"});
  expect_error(
      [] {
        CenterSpec::parse("1,2,3").resolve({0, 4});
      },
      "tomo.usage.center", {"3 centres given for 4 slices"});
}

TEST(CenterSpec, CentresOffTheDetectorAreRejected) {
  check_centers({0, 63}, 64, {0, 2}, "f.h5", "/exchange/data");
  expect_error(
      [] {
        check_centers({10, 64.5}, 64, {100, 102}, "f.h5", "/exchange/data");
      },
      "tomo.center.out_of_range",
      {"64.5", "row 101", "columns 0..63", "file=f.h5", "dataset=/exchange/data"});
  expect_error([] { check_centers({-1}, 64, {0, 1}, "f.h5", "/exchange/data"); }, "tomo.center.out_of_range");
}

TEST(CenterSpec, WeightedLineFit) {
  const LinearFit f = fit_line({0, 10, 20}, {5, 6, 100}, {1, 1, 0});
  EXPECT_NEAR(f.intercept, 5, 1e-12);
  EXPECT_NEAR(f.slope, 0.1, 1e-12);
  EXPECT_NEAR(fit_line({3}, {7.5}).at(100), 7.5, 1e-12);
}

}  // namespace
}  // namespace beamflow::jobs
