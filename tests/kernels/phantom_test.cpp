#include "kernels/tomo/phantom.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "test_util.hpp"

namespace beamflow::kernels {
namespace {

using testing::uniform_angles;
using testing::values;

// TomoPy's Euler angles (90, 90, 90) put a along x, b along y, c along z.
Ellipsoid disc(double value, double radius, double x0 = 0, double y0 = 0) {
  return {value, radius, radius, 2.0, x0, y0, 0, 90, 90, 90};
}

// Exact chord of a disc: 2 value sqrt(R^2 - s^2), R in pixels.
TEST(Phantom, EllipseProjectionIsTheAnalyticChord) {
  const int n = 101, angles = 7;
  const double center = 52.3, radius = 0.7 * 0.5 * (n - 1);
  Sinograms out("out", 3, angles, n);
  project_ellipsoids({disc(0.5, 0.7)}, uniform_angles(angles), center, out);
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), out);
  for (int a = 0; a < angles; ++a) {
    for (int u = 0; u < n; ++u) {
      const double s = u - center;
      const double chord =
          s * s < radius * radius ? 2 * 0.5 * std::sqrt(radius * radius - s * s) : 0.0;
      EXPECT_NEAR(h(1, a, u), chord, 1e-4) << a << " " << u;
    }
  }
}

// Geometry (recon.hpp): at theta = 0 rays run along y and the detector
// coordinate is x; at pi/2 it is y (up). Phantom x0 moves right, y0 up.
TEST(Phantom, OrientationMatchesTheReconstructionGeometry) {
  const int n = 65;
  const double k = 0.5 * (n - 1);  // pixels per phantom unit
  Sinograms out("out", 3, 2, n);
  const double center = 32.0;
  const auto theta = values({0.0, testing::kPi / 2});
  auto peak_column = [&](int a) {
    auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), out);
    int best = 0;
    for (int u = 0; u < n; ++u) best = h(1, a, u) > h(1, a, best) ? u : best;
    return best;
  };
  project_ellipsoids({disc(1.0, 0.1, 0.5, 0.0)}, theta, center, out);
  EXPECT_EQ(peak_column(0), 32 + 16);
  EXPECT_EQ(peak_column(1), 32);
  project_ellipsoids({disc(1.0, 0.1, 0.0, 0.5)}, theta, center, out);
  EXPECT_EQ(peak_column(0), 32);
  EXPECT_EQ(peak_column(1), 32 + 16);

  Volume vol("vol", 1, n, n);
  phantom_3d({disc(1.0, 0.1, 0.5, 0.25)}, vol);
  auto v = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), vol);
  const int x = static_cast<int>(k + 0.5 * k),
            y = static_cast<int>(k - 0.25 * k);  // y up: row above centre
  EXPECT_EQ(v(0, y, x), 1.0f);
  EXPECT_EQ(v(0, y, static_cast<int>(k - 0.5 * k)), 0.0f);
}

// The voxel projector agrees with the exact line integrals up to the
// voxelisation of the edges (two rotated ellipses; Shepp-Logan's 1.7-pixel
// skull would measure the voxelisation, not the projector).
TEST(Phantom, VoxelProjectorMatchesAnalyticProjection) {
  const int n = 128, angles = 30;
  const double center = 0.5 * (n - 1) + 2.5;
  const auto theta = uniform_angles(angles);
  // psi rotates in the slice plane (with phi = theta = 90).
  const std::vector<Ellipsoid> shapes{{1.0, 0.6, 0.45, 2, 0.05, 0.02, 0, 90, 90, 120},
                                      {0.5, 0.2, 0.1, 2, -0.2, 0.15, 0, 90, 90, 45}};
  Volume vol("vol", 3, n, n);
  phantom_3d(shapes, vol);
  Sinograms exact("exact", 3, angles, n), traced("traced", 3, angles, n);
  project_ellipsoids(shapes, theta, center, exact);
  project(vol, theta, center, traced);
  auto e = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), exact);
  auto t = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), traced);
  double peak = 0, err = 0;
  for (int a = 0; a < angles; ++a) {
    for (int u = 0; u < n; ++u) {
      peak = std::max(peak, double(e(1, a, u)));
      err += std::abs(double(e(1, a, u)) - double(t(1, a, u)));
    }
  }
  EXPECT_GT(peak, 50.0);  // chords up to 2 * 0.6 * 63.5 pixels
  EXPECT_LT(err / (angles * n), 0.01 * peak);
}

TEST(Phantom, SheppLogan3dValues) {
  const int n = 64;
  Volume vol("vol", n, n, n);
  shepp_logan_3d(vol);
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), vol);
  double lo = 1e9, hi = -1e9;
  for (int z = 0; z < n; ++z)
    for (int y = 0; y < n; ++y)
      for (int x = 0; x < n; ++x) {
        lo = std::min(lo, double(h(z, y, x)));
        hi = std::max(hi, double(h(z, y, x)));
      }
  EXPECT_EQ(lo, 0.0);
  EXPECT_NEAR(hi, 1.0, 1e-6);                      // the skull
  EXPECT_NEAR(h(n / 2, n / 2, n / 2), 0.2, 1e-6);  // brain: 1 - 0.8
  EXPECT_EQ(h(n / 2, 0, 0), 0.0f);                 // air
}

TEST(Phantom, BadInputsAreErrors) {
  Sinograms out("out", 1, 4, 16);
  testing::expect_error([&] { project_ellipsoids({disc(1, 0.2)}, uniform_angles(5), 7.5, out); },
                        error_id::Shape, "project_ellipsoids: theta has 5 angles but out has 4");
  testing::expect_error(
      [&] {
        project_ellipsoids({disc(1, 0.2), disc(1, 0.0)}, uniform_angles(4), 7.5, out);
      },
      error_id::Argument, "ellipsoid 1 has a non-positive semi-axis");
  testing::expect_error([&] { project(Volume("v", 2, 16, 16), uniform_angles(4), 7.5, out); },
                        error_id::Shape,
                        "project: volume has 2 slices and theta 4 angles; out is 1x4x16");
}

}  // namespace
}  // namespace beamflow::kernels
