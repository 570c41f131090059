// A reconstruction killed half-way and started again computes only the
// missing slices and ends with the volume an uninterrupted run writes.
#include <gtest/gtest.h>

#include "cli_fixture.hpp"
#include "jobs/volume_file.hpp"

namespace beamflow::jobs::testing {
namespace {

constexpr const char* kKill = "BEAMFLOW_TEST_KILL_AFTER_CHUNKS=";

class CheckpointTest : public CliTest {
 protected:
  void SetUp() override {
    phantom("p.h5", "--size 96 --angles 120 --rows 8 --center-offset 1");
    const Ran r = beamflow(std::string(kRecon) + " --output whole.h5");
    ASSERT_EQ(r.code, 0) << r.err;
  }
  static constexpr const char* kRecon = "recon --input p.h5 --center 48.5 --chunk-rows 2";
};

TEST_F(CheckpointTest, KilledOnOneRankResumesTheMissingSlices) {
  Ran r = beamflow(std::string(kRecon) + " --output r.h5", 0, std::string(kKill) + "2");
  EXPECT_EQ(r.code, 128 + 9) << r.err;  // SIGKILL
  EXPECT_EQ(done_flags(path("r.h5")), (std::vector<std::uint8_t>{1, 1, 1, 1, 0, 0, 0, 0}));

  r = beamflow(std::string(kRecon) + " --output r.h5");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("computing 4 of 8 slices (4 already done)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("computed 4 slices, 4 were already done"), std::string::npos) << r.err;
  EXPECT_EQ(done_flags(path("r.h5")), std::vector<std::uint8_t>(8, 1));
  EXPECT_LT(relative_difference(volume(path("r.h5")), volume(path("whole.h5"))), 1e-5);
  EXPECT_EQ(VolumeFile::read_header(path("r.h5")).difference(VolumeFile::read_header(path("whole.h5"))), "");

  // A third run finds nothing to do.
  r = beamflow(std::string(kRecon) + " --output r.h5");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("computing 0 of 8 slices (8 already done)"), std::string::npos) << r.err;
}

TEST_F(CheckpointTest, KilledOnTwoRanksResumedOnThree) {
  Ran r = beamflow(std::string(kRecon) + " --output r.h5", 2, std::string(kKill) + "1");
  EXPECT_NE(r.code, 0);
  // Each rank committed its first chunk of two rows.
  EXPECT_EQ(done_flags(path("r.h5")), (std::vector<std::uint8_t>{1, 1, 0, 0, 1, 1, 0, 0}));
  r = beamflow(std::string(kRecon) + " --output r.h5", 3);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("computed 4 slices, 4 were already done"), std::string::npos) << r.err;
  EXPECT_LT(relative_difference(volume(path("r.h5")), volume(path("whole.h5"))), 1e-5);
}

TEST_F(CheckpointTest, OtherSettingsAreRefusedUnlessOverwriting) {
  Ran r = beamflow("recon --input p.h5 --center 48.5 --algorithm fbp --output whole.h5");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("[tomo.output.exists]"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("algorithm: 'gridrec' vs 'fbp'"), std::string::npos) << r.err;
  r = beamflow("recon --input p.h5 --center 48.6 --output whole.h5");
  EXPECT_NE(r.err.find("centres"), std::string::npos) << r.err;
  r = beamflow("recon -q --input p.h5 --center 48.5 --algorithm fbp --output whole.h5 --overwrite");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(VolumeFile::read_header(path("whole.h5")).algorithm, "fbp");
}

}  // namespace
}  // namespace beamflow::jobs::testing
