#include "kernels/tomo/center.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/tomo/phantom.hpp"
#include "test_util.hpp"

namespace beamflow::kernels {
namespace {

using testing::uniform_angles;
using testing::values;

// The middle slice's sinogram [angle][column] of Shepp-Logan with the axis at
// `center`, plus Gaussian noise of `noise` times its peak.
Kokkos::View<Real**> sinogram(int n, Kokkos::View<Real*> theta, double center, double noise,
                              unsigned seed = 7) {
  const int angles = static_cast<int>(theta.extent(0));
  Sinograms s("s", 3, angles, n);
  project_ellipsoids(shepp_logan_ellipsoids(), theta, center, s);
  Kokkos::View<Real**> out("sino", angles, n);
  Kokkos::deep_copy(out, Kokkos::subview(s, 1, Kokkos::ALL, Kokkos::ALL));
  if (noise > 0) testing::add_noise(out, noise, seed);
  return out;
}

// The goal: within 0.25 px on noisy phantoms, offsets up to 20 px.
TEST(CenterVo, FindsOffsetCentresInNoise) {
  const int n = 256, angles = 180;
  const auto theta = uniform_angles(angles);
  for (double offset : {-19.6, -7.3, 0.0, 7.3, 12.45, 19.9}) {
    const double truth = 0.5 * (n - 1) + offset;
    const CenterEstimate e = find_center_vo(sinogram(n, theta, truth, 0.03), theta);
    EXPECT_NEAR(e.center, truth, 0.25) << offset;
    EXPECT_GT(e.confidence, 0.3) << offset;
  }
}

// Angles over [0, pi] inclusive and over 360 degrees use their first half turn.
TEST(CenterVo, InclusiveAndFullRotationScans) {
  const int n = 128;
  const double truth = 0.5 * (n - 1) + 7.3;
  Kokkos::View<Real*> inclusive("inclusive", 121);
  auto h = Kokkos::create_mirror_view(inclusive);
  for (int a = 0; a <= 120; ++a) h(a) = Real(testing::kPi * a / 120);
  Kokkos::deep_copy(inclusive, h);
  EXPECT_NEAR(find_center_vo(sinogram(n, inclusive, truth, 0.01), inclusive).center, truth, 0.25);
  const auto full = uniform_angles(240, 2 * testing::kPi);
  EXPECT_NEAR(find_center_vo(sinogram(n, full, truth, 0.01), full).center, truth, 0.25);
}

TEST(CenterVo, CentreOutsideTheSearchRangeHasZeroConfidence) {
  const int n = 128;
  const auto theta = uniform_angles(120);
  VoParams p;
  p.search_radius = 8;
  const CenterEstimate e = find_center_vo(sinogram(n, theta, 0.5 * (n - 1) + 10.5, 0), theta, p);
  EXPECT_EQ(e.confidence, 0.0);
  EXPECT_NEAR(e.center, 0.5 * (n - 1) + 8, 0.51);  // the border it ran into
}

TEST(CenterVo, BadInputsAreErrors) {
  const int n = 64;
  const auto theta = uniform_angles(60);
  const auto sino = sinogram(n, theta, 31.5, 0);
  testing::expect_error([&] { find_center_vo(sino, uniform_angles(61)); }, error_id::Shape,
                        "find_center_vo: theta has 61 angles but the sinogram has 60");
  testing::expect_error([&] { find_center_vo(sino, uniform_angles(60, 0.5 * testing::kPi)); },
                        error_id::Angles, "angles span 88.5 degrees; the method needs 180");
  auto uneven = Kokkos::create_mirror_view(theta);
  Kokkos::deep_copy(uneven, theta);
  uneven(10) += Real(0.01);
  Kokkos::View<Real*> bent("bent", 60);
  Kokkos::deep_copy(bent, uneven);
  testing::expect_error([&] { find_center_vo(sino, bent); }, error_id::Angles,
                        "angles must be uniformly spaced (angle 10 is off)");
  VoParams p;
  p.ratio = 0;
  testing::expect_error([&] { find_center_vo(sino, theta, p); }, error_id::Argument,
                        "0 < ratio <= 1");
  testing::expect_error([&] { find_center_vo(Kokkos::View<Real**>("s", 60, 8), theta); },
                        error_id::Shape, "need at least 16 columns, got 8");
}

// Projections at 0 and 180 degrees of the 3-D phantom, [row][column].
struct Pair {
  Kokkos::View<Real**> p0, p180;
};

Pair projection_pair(int rows, int n, double center, double noise) {
  Sinograms s("s", rows, 2, n);
  project_ellipsoids(shepp_logan_ellipsoids(), values({0.0, testing::kPi}), center, s);
  Pair p{Kokkos::View<Real**>("p0", rows, n), Kokkos::View<Real**>("p180", rows, n)};
  Kokkos::deep_copy(p.p0, Kokkos::subview(s, Kokkos::ALL, 0, Kokkos::ALL));
  Kokkos::deep_copy(p.p180, Kokkos::subview(s, Kokkos::ALL, 1, Kokkos::ALL));
  if (noise > 0) {
    testing::add_noise(p.p0, noise, 1);
    testing::add_noise(p.p180, noise, 2);
  }
  return p;
}

TEST(CenterPc, FindsOffsetCentresInNoise) {
  const int rows = 64, n = 192;
  for (double offset : {-19.7, -3.2, 0.0, 7.3, 20.0}) {
    const double truth = 0.5 * (n - 1) + offset;
    const Pair p = projection_pair(rows, n, truth, 0.03);
    const CenterEstimate e = find_center_pc(p.p0, p.p180);
    EXPECT_NEAR(e.center, truth, 0.25) << offset;
    EXPECT_GT(e.confidence, 0.1) << offset;
  }
}

// Confidence: the normalised peak height, high for a clean matching pair and
// near zero for two unrelated noise images.
TEST(CenterPc, ConfidenceSeparatesMatchFromNoise) {
  const Pair clean = projection_pair(32, 128, 70.25, 0);
  EXPECT_GT(find_center_pc(clean.p0, clean.p180).confidence, 0.5);
  Kokkos::View<Real**> a("a", 32, 128), b("b", 32, 128);
  Kokkos::deep_copy(a, 1.0f);
  Kokkos::deep_copy(b, 1.0f);
  testing::add_noise(a, 0.5, 3);
  testing::add_noise(b, 0.5, 4);
  EXPECT_LT(find_center_pc(a, b).confidence, 0.1);
}

TEST(CenterPc, BadInputsAreErrors) {
  Kokkos::View<Real**> a("a", 4, 32), b("b", 4, 31), tiny("tiny", 4, 8);
  testing::expect_error([&] { find_center_pc(a, b); }, error_id::Shape,
                        "find_center_pc: projections differ in shape: 4x32 and 4x31");
  testing::expect_error([&] { find_center_pc(tiny, tiny); }, error_id::Shape,
                        "need at least 1 row and 16 columns");
  PcParams p;
  p.upsample = 0;
  testing::expect_error([&] { find_center_pc(a, a, p); }, error_id::Argument,
                        "upsample must be in 1..1000");
}

}  // namespace
}  // namespace beamflow::kernels
