// find-center on noisy phantoms: within a quarter pixel for axis offsets up
// to 20 pixels.
#include <gtest/gtest.h>

#include "cli_fixture.hpp"

namespace beamflow::jobs::testing {
namespace {

TEST_F(CliTest, VoFindsTheCentreWithinAQuarterPixel) {
  for (double offset : {-20.0, -12.5, -3.25, 0.0, 7.75, 20.0}) {
    const Json truth =
        phantom("c.h5", "--overwrite --size 256 --angles 360 --rows 8 --photons 10000 --center-offset " +
                            std::to_string(offset));
    const Ran r = beamflow("find-center --input c.h5 --rows 2:6");
    ASSERT_EQ(r.code, 0) << r.err;
    const Json found = Json::parse(r.out);
    EXPECT_NEAR(found["center"].get<double>(), truth["center"].get<double>(), 0.25) << "offset " << offset;
    EXPECT_EQ(found["method"], "vo");
    EXPECT_EQ(found["rows"], Json::array({2, 6}));
    EXPECT_GT(found["confidence"].get<double>(), 0.0);
  }
}

TEST_F(CliTest, SampledRowsGiveALine) {
  const Json truth = phantom("c.h5", "--size 256 --angles 360 --rows 12 --center-offset 5");
  const Ran r = beamflow("find-center --input c.h5 --rows 3:9 --samples 3");
  ASSERT_EQ(r.code, 0) << r.err;
  const Json found = Json::parse(r.out);
  EXPECT_EQ(found["sampled_rows"], Json::array({4, 6, 8}));
  ASSERT_TRUE(found["fit"].is_object());
  EXPECT_NEAR(found["fit"]["slope"].get<double>(), 0.0, 0.05);  // the phantom's axis is straight
  EXPECT_NEAR(found["center"].get<double>(), truth["center"].get<double>(), 0.25);
}

TEST_F(CliTest, PhaseCorrelationOnAFullTurn) {
  const Json truth = phantom("c.h5", "--size 256 --angles 360 --arc 360 --rows 8 --center-offset -6");
  Ran r = beamflow("find-center --input c.h5 --method pc --rows 2:6");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NEAR(Json::parse(r.out)["center"].get<double>(), truth["center"].get<double>(), 0.25);
  // A half turn has no projection at 180 degrees.
  phantom("h.h5", "--size 64 --angles 90 --rows 3");
  r = beamflow("find-center --input h.h5 --method pc");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("[tomo.center.no_opposite]"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("dataset=/exchange/theta"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace beamflow::jobs::testing
