// `mpirun -np N beamflow recon` gives the same volume, bit for bit, for
// N = 1..4, including rounds where some ranks have nothing and more ranks
// than rows: every rank follows rank 0's FFT plans and gridrec pairs the
// same rows whatever the chunking.
#include <gtest/gtest.h>

#include "cli_fixture.hpp"

namespace beamflow::jobs::testing {
namespace {

TEST_F(CliTest, OneToFourRanksGiveTheSameVolume) {
  phantom("p.h5", "--size 96 --angles 120 --rows 6 --center-offset 2");
  for (const char* algorithm : {"gridrec", "fbp"}) {
    const std::string common =
        std::string("recon -q --input p.h5 --center 49.5 --chunk-rows 1 --algorithm ") + algorithm;
    std::vector<float> one;
    for (int ranks = 1; ranks <= 4; ++ranks) {
      const std::string out = std::string(algorithm) + std::to_string(ranks) + ".h5";
      const Ran r = beamflow(common + " --output " + out, ranks);
      ASSERT_EQ(r.code, 0) << ranks << " ranks: " << r.err;
      EXPECT_EQ(done_flags(path(out)), std::vector<std::uint8_t>(6, 1));
      if (ranks == 1)
        one = volume(path(out));
      else
        EXPECT_EQ(volume(path(out)), one) << algorithm << " on " << ranks << " ranks";
    }
  }
}

TEST_F(CliTest, MoreRanksThanRows) {
  phantom("p.h5", "--size 64 --angles 60 --rows 6");
  Ran r = beamflow("recon -q --input p.h5 --center 31.5 --rows 2:4 --output one.h5");
  ASSERT_EQ(r.code, 0) << r.err;
  r = beamflow("recon -q --input p.h5 --center 31.5 --rows 2:4 --output four.h5", 4);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(volume(path("four.h5")), volume(path("one.h5")));
}

TEST_F(CliTest, AutomaticCentreOnSeveralRanks) {
  phantom("p.h5", "--size 128 --angles 180 --rows 8 --center-offset 3");
  const Ran one = beamflow("recon --json -q --input p.h5 --center auto:4 --output one.h5");
  const Ran three = beamflow("recon --json -q --input p.h5 --center auto:4 --output three.h5", 3);
  ASSERT_EQ(one.code, 0) << one.err;
  ASSERT_EQ(three.code, 0) << three.err;
  // Rank 0 alone prints; the sampled rows were shared among the ranks.
  const Json a = Json::parse(one.out), b = Json::parse(three.out);
  EXPECT_EQ(b["ranks"], 3);
  ASSERT_EQ(a["centers"].size(), 8u);
  for (std::size_t i = 0; i < 8; ++i)  // the search plans with FFTW_ESTIMATE: deterministic
    EXPECT_EQ(a["centers"][i].get<double>(), b["centers"][i].get<double>());
  EXPECT_EQ(volume(path("three.h5")), volume(path("one.h5")));
}

}  // namespace
}  // namespace beamflow::jobs::testing
