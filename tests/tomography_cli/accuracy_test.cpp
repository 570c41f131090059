// Accuracy against the phantom's truth (PSNR and SSIM inside the field of
// view) and against scikit-image's iradon on the same data and centre.
#include <gtest/gtest.h>

#include "cli_fixture.hpp"

namespace beamflow::jobs::testing {
namespace {

constexpr const char* kReference = BEAMFLOW_SOURCE_DIR "/tests/tomography/skimage_reference.py";

TEST_F(CliTest, FbpIsAtLeastAsGoodAsIradon) {
  // Odd width and integer centre: iradon's grid is then ours exactly (see
  // skimage_reference.py), so neither side is resampled.
  const Json truth =
      phantom("p.h5", "--size 255 --angles 360 --rows 8 --center-offset 6 --photons 20000 --seed 3");
  ASSERT_EQ(truth["center"].get<double>(), 133.0);
  Ran r =
      beamflow("recon -q --input p.h5 --output fbp.h5 --algorithm fbp --filter ramp --center 133 --rows 2:6");
  ASSERT_EQ(r.code, 0) << r.err;
  r = shell(std::string("/usr/bin/python3 ") + kReference + " p.h5 133 2 6 iradon.h5 ramp");
  ASSERT_EQ(r.code, 0) << "scripts/install-deps.sh installs python3-skimage and python3-h5py\n" << r.err;
  const Score ours = score(path("fbp.h5"), path("p.truth.h5"), 2, 133);
  const Score iradon = score(path("iradon.h5"), path("p.truth.h5"), 2, 133);
  RecordProperty("fbp_psnr", std::to_string(ours.psnr));
  RecordProperty("iradon_psnr", std::to_string(iradon.psnr));
  std::cout << "fbp " << ours.psnr << " dB, SSIM " << ours.ssim << "; iradon " << iradon.psnr << " dB, SSIM "
            << iradon.ssim << "\n";
  // The same algorithm in float32 against float64: a hair of rounding.
  EXPECT_GE(ours.psnr, iradon.psnr - 0.05);
  EXPECT_GE(ours.ssim, iradon.ssim - 0.005);
  EXPECT_GT(ours.psnr, 22.0);
}

TEST_F(CliTest, GridrecIsWithinOneDecibelOfFbp) {
  phantom("p.h5", "--size 256 --angles 360 --rows 8 --center-offset 4 --photons 10000 --seed 5");
  for (const char* algorithm : {"fbp", "gridrec"}) {
    const Ran r = beamflow(std::string("recon -q --input p.h5 --rows 2:6 --center 131.5 --algorithm ") +
                           algorithm + " --output " + algorithm + ".h5");
    ASSERT_EQ(r.code, 0) << r.err;
  }
  const Score fbp = score(path("fbp.h5"), path("p.truth.h5"), 2, 131.5);
  const Score gridrec = score(path("gridrec.h5"), path("p.truth.h5"), 2, 131.5);
  std::cout << "fbp " << fbp.psnr << " dB, SSIM " << fbp.ssim << "; gridrec " << gridrec.psnr << " dB, SSIM "
            << gridrec.ssim << "\n";
  EXPECT_GE(gridrec.psnr, fbp.psnr - 1.0);
  EXPECT_GT(fbp.psnr, 22.0);
  EXPECT_GT(fbp.ssim, 0.5);
}

TEST_F(CliTest, Width512WithAutomaticCentre) {
  const Json truth = phantom("p.h5", "--size 512 --angles 400 --rows 5 --center-offset -9.5 --photons 20000");
  const Ran r = beamflow("recon --json -q --input p.h5 --rows 1:4 --output r.h5");
  ASSERT_EQ(r.code, 0) << r.err;
  const Json summary = Json::parse(r.out);
  const double found = summary["center"].get<double>();
  EXPECT_NEAR(found, truth["center"].get<double>(), 0.25);
  const Score s = score(path("r.h5"), path("p.truth.h5"), 1, truth["center"].get<double>());
  std::cout << "gridrec 512: centre " << found << ", " << s.psnr << " dB, SSIM " << s.ssim << "\n";
  // 400 angles undersample 512 columns: streaks cost SSIM, not PSNR.
  EXPECT_GT(s.psnr, 22.0);
  EXPECT_GT(s.ssim, 0.45);
}

}  // namespace
}  // namespace beamflow::jobs::testing
