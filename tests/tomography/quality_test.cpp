#include "jobs/tomography/quality.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace beamflow::jobs {
namespace {

TEST(Quality, PsnrOfAKnownError) {
  const std::vector<float> truth{0, 1, 0, 1}, image{0.1f, 1, 0, 1};
  const std::vector<std::uint8_t> all(4, 1);
  // range 1, MSE 0.01 / 4
  EXPECT_NEAR(psnr(image, truth, all), 10 * std::log10(1 / 0.0025), 1e-4);
  EXPECT_TRUE(std::isinf(psnr(truth, truth, all)));
}

TEST(Quality, SsimIsOneForIdenticalImagesAndLessOtherwise) {
  std::vector<float> a(32 * 32), b(32 * 32);
  for (std::size_t i = 0; i < a.size(); ++i) {
    a[i] = float((i * 7919) % 13);
    b[i] = a[i] + ((i % 5) ? 0.f : 3.f);
  }
  const auto mask = disc_mask(32, 14);
  EXPECT_NEAR(ssim(a, a, mask, 32), 1.0, 1e-12);
  EXPECT_LT(ssim(b, a, mask, 32), 0.95);
}

TEST(Quality, DiscMaskCoversTheCircle) {
  const auto m = disc_mask(101, 50);
  std::size_t n = 0;
  for (auto v : m) n += v;
  EXPECT_NEAR(double(n), M_PI * 50 * 50, 200);
  EXPECT_EQ(m[0], 0);
  EXPECT_EQ(m[50 * 101 + 50], 1);
}

// The phantom's end slices are empty: their truth is constant, there is no
// peak to score against, and they are left out instead of scoring 70+ dB
// against an invented peak of 1 (which inflated the benchmark's column).
TEST(Quality, AVolumeIsScoredOnItsSlicesWithANonConstantTruthOnly) {
  const std::int64_t w = 33, n = w * w;
  std::vector<float> truth(std::size_t(3 * n), 0.f), image(std::size_t(3 * n), 0.f);
  for (std::int64_t i = 0; i < n; ++i) {
    truth[std::size_t(n + i)] = float(i % 7);                        // slice 1: structure
    image[std::size_t(n + i)] = float(i % 7) + ((i % 3) ? 0.f : 0.5f);
    image[std::size_t(i)] = 1e-4f;                                    // slices 0, 2: empty truth,
    image[std::size_t(2 * n + i)] = 1e-4f;                            // nearly empty image
  }
  const Score s = score_slices(image, truth, 3, w, (w - 1) / 2.0);
  EXPECT_EQ(s.scored, 1);
  EXPECT_EQ(s.constant, 2);
  const auto mask = disc_mask(w, (w - 1) / 2.0 - 1);
  const std::span<const float> x(image.data() + n, std::size_t(n)), y(truth.data() + n, std::size_t(n));
  EXPECT_DOUBLE_EQ(s.psnr, psnr(x, y, mask));
  EXPECT_DOUBLE_EQ(s.ssim, ssim(x, y, mask, w));
  EXPECT_LT(s.psnr, 40.0);
  // An empty slice alone has no score at all.
  const std::span<const float> empty(truth.data(), std::size_t(n)), near(image.data(), std::size_t(n));
  EXPECT_TRUE(std::isnan(psnr(near, empty, mask)));
  EXPECT_TRUE(std::isnan(ssim(near, empty, mask, w)));
  EXPECT_TRUE(std::isnan(score_slices(near, empty, 1, w, (w - 1) / 2.0).psnr));
}

TEST(Quality, TheScaleFittedPsnrForgivesOnlyTheScale) {
  const std::vector<float> truth{0, 1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<float> image(truth.size());
  for (std::size_t i = 0; i < truth.size(); ++i) image[i] = 0.8f * truth[i];
  const std::vector<std::uint8_t> all(truth.size(), 1);
  EXPECT_TRUE(std::isfinite(psnr(image, truth, all)));
  EXPECT_LT(psnr(image, truth, all), 25.0);
  EXPECT_GT(psnr_scale_fitted(image, truth, all), 100.0);  // exact up to rounding once rescaled
}

}  // namespace
}  // namespace beamflow::jobs
