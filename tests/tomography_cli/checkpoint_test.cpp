// A reconstruction killed half-way and started again computes only the
// missing slices and ends with the volume an uninterrupted run writes, bit
// for bit (same FFT plans, same row pairs; see recon_job.cpp).
#include <gtest/gtest.h>

#include "cli_fixture.hpp"
#include "jobs/tomography/fft_wisdom.hpp"
#include "io/hdf5.hpp"
#include "jobs/tomography/volume_file.hpp"

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
  // An incomplete volume never has the final name (issue 9): the checkpoint is r.h5.partial.
  EXPECT_FALSE(std::filesystem::exists(path("r.h5")));
  EXPECT_EQ(done_flags(path("r.h5.partial")), (std::vector<std::uint8_t>{1, 1, 1, 1, 0, 0, 0, 0}));

  r = beamflow(std::string(kRecon) + " --output r.h5");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("computing 4 of 8 slices (4 already done)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("computed 4 slices, 4 were already done"), std::string::npos) << r.err;
  EXPECT_EQ(done_flags(path("r.h5")), std::vector<std::uint8_t>(8, 1));
  EXPECT_EQ(volume(path("r.h5")), volume(path("whole.h5")));
  EXPECT_EQ(VolumeFile::read_header(path("r.h5")).difference(VolumeFile::read_header(path("whole.h5"))), "");

  // A third run finds nothing to do.
  r = beamflow(std::string(kRecon) + " --output r.h5");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("computing 0 of 8 slices (8 already done)"), std::string::npos) << r.err;
}

TEST_F(CheckpointTest, KilledOnTwoRanksResumedOnThree) {
  Ran r = beamflow(std::string(kRecon) + " --output r.h5", 2, std::string(kKill) + "2");
  EXPECT_NE(r.code, 0);
  // The first two chunks of the list (two rows each) were committed,
  // whichever ranks claimed them.
  EXPECT_EQ(done_flags(path("r.h5.partial")), (std::vector<std::uint8_t>{1, 1, 1, 1, 0, 0, 0, 0}));
  r = beamflow(std::string(kRecon) + " --output r.h5", 3);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("computed 4 slices, 4 were already done"), std::string::npos) << r.err;
  EXPECT_EQ(volume(path("r.h5")), volume(path("whole.h5")));
}

// The output records the FFT plans it was started with, so a run resumed
// where the machine's stored wisdom is gone (another node type, a wiped
// home) still transforms with the first run's plans.
TEST_F(CheckpointTest, ResumeFollowsThePlansTheOutputRecorded) {
  Ran r = beamflow(std::string(kRecon) + " --output r.h5", 0, std::string(kKill) + "1");
  EXPECT_EQ(r.code, 128 + 9) << r.err;
  r = beamflow(std::string(kRecon) + " --output r.h5", 2, "BEAMFLOW_FFT_WISDOM=" + path("elsewhere.wisdom").string());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(std::filesystem::exists(path("elsewhere.wisdom")));  // nothing was planned afresh
  EXPECT_FALSE(VolumeFile::read_fft_plans(path("r.h5")).empty());
  EXPECT_EQ(volume(path("r.h5")), volume(path("whole.h5")));
}

// Recorded plans FFTW cannot parse: a clear error naming the file, and the
// file left as it was.
TEST_F(CheckpointTest, UnreadableRecordedPlansAreRefused) {
  Ran r = beamflow(std::string(kRecon) + " --output r.h5", 0, std::string(kKill) + "1");
  EXPECT_EQ(r.code, 128 + 9) << r.err;
  {
    const io::h5::Site site{"test", "States.TaskFailed", path("r.h5.partial").string()};
    io::h5::Handle file = io::h5::open_file(path("r.h5.partial"), io::h5::Access::ReadWrite, std::nullopt, site);
    io::h5::Handle data = *io::h5::try_open_dataset(file.get(), kVolumeDataset, site);
    ASSERT_GE(H5Adelete(data.get(), "fft_plans"), 0);
    io::h5::write_attribute(data.get(), "fft_plans", std::string("(not fftw wisdom"), site);
  }
  const std::vector<std::uint8_t> before = done_flags(path("r.h5.partial"));
  r = beamflow(std::string(kRecon) + " --output r.h5");
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("[tomo.output.exists]"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("FFT plans FFTW cannot read"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("r.h5"), std::string::npos) << r.err;
  EXPECT_EQ(done_flags(path("r.h5.partial")), before);
}

// A fresh run with an empty wisdom store measures plans and keeps them.
TEST_F(CheckpointTest, PlansAreKeptForLaterRuns) {
  const std::string store = "BEAMFLOW_FFT_WISDOM=" + path("store.wisdom").string();
  const Ran r = beamflow(std::string(kRecon) + " -q --output again.h5", 0, store);
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_TRUE(std::filesystem::exists(path("store.wisdom")));
  EXPECT_EQ(VolumeFile::read_fft_plans(path("again.h5")), jobs::load_fft_wisdom(path("store.wisdom")));
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
