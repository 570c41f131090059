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

}  // namespace
}  // namespace beamflow::jobs
