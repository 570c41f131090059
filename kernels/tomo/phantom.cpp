#include "kernels/tomo/phantom.hpp"

#include <cmath>
#include <numbers>
#include <string>

#include "kernels/common/device_math.hpp"
#include "kernels/common/error.hpp"

namespace beamflow::kernels {
namespace {

// An ellipsoid as a map into the unit sphere: q = S (R p - m), S = 1/axes.
struct Quadric {
  double m[3][3];  // S R
  double o[3];     // S m
  double value;
};

Quadric to_quadric(const Ellipsoid& e) {
  const double d = std::numbers::pi / 180.0;
  const double cphi = std::cos(e.phi * d), sphi = std::sin(e.phi * d);
  const double cth = std::cos(e.theta * d), sth = std::sin(e.theta * d);
  const double cpsi = std::cos(e.psi * d), spsi = std::sin(e.psi * d);
  // tomopy.misc.phantom._rotation_matrix
  const double r[3][3] = {
      {cpsi * cphi - cth * sphi * spsi, cpsi * sphi + cth * cphi * spsi, spsi * sth},
      {-spsi * cphi - cth * sphi * cpsi, -spsi * sphi + cth * cphi * cpsi, cpsi * sth},
      {sth * sphi, -sth * cphi, cth}};
  const double axes[3] = {e.a, e.b, e.c};
  const double centre[3] = {e.x0, e.y0, e.z0};
  Quadric q{};
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) q.m[i][j] = r[i][j] / axes[i];
    q.o[i] = centre[i] / axes[i];
  }
  q.value = e.value;
  return q;
}

Kokkos::View<Quadric*> device_quadrics(const std::vector<Ellipsoid>& ellipsoids,
                                       const char* where) {
  Kokkos::View<Quadric*> quadrics("beamflow::phantom::quadrics", ellipsoids.size());
  auto host = Kokkos::create_mirror_view(quadrics);
  for (std::size_t i = 0; i < ellipsoids.size(); ++i) {
    const Ellipsoid& e = ellipsoids[i];
    if (!(e.a > 0 && e.b > 0 && e.c > 0)) {
      throw Error(error_id::Argument, where,
                  "ellipsoid " + std::to_string(i) + " has a non-positive semi-axis");
    }
    host(i) = to_quadric(e);
  }
  Kokkos::deep_copy(quadrics, host);
  return quadrics;
}

// Pixel-centre coordinate of index i on an axis of n points spanning [-1, 1].
KOKKOS_INLINE_FUNCTION double axis_coord(int i, int n) {
  return n > 1 ? -1.0 + 2.0 * i / (n - 1) : 0.0;
}

}  // namespace

std::vector<Ellipsoid> shepp_logan_ellipsoids() {
  // value, a, b, c, x0, y0, z0, phi, theta, psi (tomopy.misc.phantom._get_shepp_array)
  return {
      {1.0, .6900, .920, .810, 0., 0., 0., 90., 90., 90.},
      {-.8, .6624, .874, .780, 0., -.0184, 0., 90., 90., 90.},
      {-.2, .1100, .310, .220, .22, 0., 0., -108., 90., 100.},
      {-.2, .1600, .410, .280, -.22, 0., 0., 108., 90., 100.},
      {.1, .2100, .250, .410, 0., .35, -.15, 90., 90., 90.},
      {.1, .0460, .046, .050, 0., .1, .25, 90., 90., 90.},
      {.1, .0460, .046, .050, 0., -.1, .25, 90., 90., 90.},
      {.1, .0460, .023, .050, -.08, -.605, 0., 90., 90., 90.},
      {.1, .0230, .023, .020, 0., -.606, 0., 90., 90., 90.},
      {.1, .0230, .046, .020, .06, -.605, 0., 90., 90., 90.},
  };
}

void phantom_3d(const std::vector<Ellipsoid>& ellipsoids, Volume out) {
  auto quadrics = device_quadrics(ellipsoids, "phantom_3d");
  const int nz = static_cast<int>(out.extent(0));
  const int ny = static_cast<int>(out.extent(1));
  const int nx = static_cast<int>(out.extent(2));
  const int count = static_cast<int>(ellipsoids.size());
  Kokkos::parallel_for(
      "beamflow::phantom::voxelise",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<3>>({0, 0, 0}, {nz, ny, nx}),
      KOKKOS_LAMBDA(int z, int y, int x) {
        const double p[3] = {axis_coord(z, nz), axis_coord(y, ny), axis_coord(x, nx)};
        double sum = 0;
        for (int e = 0; e < count; ++e) {
          const Quadric& q = quadrics(e);
          double r2 = 0;
          for (int i = 0; i < 3; ++i) {
            const double v = q.m[i][0] * p[0] + q.m[i][1] * p[1] + q.m[i][2] * p[2] - q.o[i];
            r2 += v * v;
          }
          if (r2 <= 1.0) sum += q.value;
        }
        out(z, y, x) = Real(sum);
      });
}

void shepp_logan_3d(Volume out) {
  phantom_3d(shepp_logan_ellipsoids(), out);
  Kokkos::parallel_for(
      "beamflow::phantom::clip",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<3>>(
          {0, 0, 0}, {out.extent(0), out.extent(1), out.extent(2)}),
      KOKKOS_LAMBDA(int z, int y, int x) {
        if (out(z, y, x) < Real(0)) out(z, y, x) = Real(0);
      });
}

void project_ellipsoids(const std::vector<Ellipsoid>& ellipsoids, Angles theta, double center,
                        Sinograms out, int grid) {
  if (theta.extent(0) != out.extent(1)) {
    throw Error(error_id::Shape, "project_ellipsoids",
                "theta has " + std::to_string(theta.extent(0)) + " angles but out has " +
                    std::to_string(out.extent(1)));
  }
  auto quadrics = device_quadrics(ellipsoids, "project_ellipsoids");
  const int rows = static_cast<int>(out.extent(0));
  const int angles = static_cast<int>(out.extent(1));
  const int cols = static_cast<int>(out.extent(2));
  const int n = grid > 0 ? grid : cols;
  const double k = n > 1 ? 2.0 / (n - 1) : 1.0;  // phantom units per pixel
  const int count = static_cast<int>(ellipsoids.size());
  Kokkos::parallel_for(
      "beamflow::phantom::project_ellipsoids",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<3>>({0, 0, 0}, {rows, angles, cols}),
      KOKKOS_LAMBDA(int r, int a, int u) {
        const double t = theta(a);
        const double c = math::cos(t), s = math::sin(t);
        const double d = u - center;
        // Ray through (x, y) = d (c, s) along (-s, c); phantom p = (z, -k y, k x).
        const double p0[3] = {axis_coord(r, rows), -k * d * s, k * d * c};
        const double dir[3] = {0.0, -k * c, -k * s};
        double sum = 0;
        for (int e = 0; e < count; ++e) {
          const Quadric& q = quadrics(e);
          double aa = 0, bb = 0, cc = -1.0;
          for (int i = 0; i < 3; ++i) {
            const double v0 = q.m[i][0] * p0[0] + q.m[i][1] * p0[1] + q.m[i][2] * p0[2] - q.o[i];
            const double v1 = q.m[i][0] * dir[0] + q.m[i][1] * dir[1] + q.m[i][2] * dir[2];
            aa += v1 * v1;
            bb += v0 * v1;
            cc += v0 * v0;
          }
          const double disc = bb * bb - aa * cc;
          if (aa > 0 && disc > 0) sum += q.value * 2.0 * math::sqrt(disc) / aa;
        }
        out(r, a, u) = Real(sum);
      });
}

void project(Kokkos::View<const Real***> vol, Angles theta, double center, Sinograms out) {
  if (vol.extent(0) != out.extent(0) || theta.extent(0) != out.extent(1)) {
    throw Error(error_id::Shape, "project",
                "volume has " + std::to_string(vol.extent(0)) + " slices and theta " +
                    std::to_string(theta.extent(0)) + " angles; out is " +
                    std::to_string(out.extent(0)) + "x" + std::to_string(out.extent(1)) + "x" +
                    std::to_string(out.extent(2)));
  }
  const int rows = static_cast<int>(out.extent(0));
  const int angles = static_cast<int>(out.extent(1));
  const int cols = static_cast<int>(out.extent(2));
  const int ny = static_cast<int>(vol.extent(1));
  const int nx = static_cast<int>(vol.extent(2));
  const double cy = 0.5 * (ny - 1), cx = 0.5 * (nx - 1);
  Kokkos::parallel_for(
      "beamflow::phantom::project",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<3>>({0, 0, 0}, {rows, angles, cols}),
      KOKKOS_LAMBDA(int r, int a, int u) {
        const double t = theta(a);
        const double c = math::cos(t), s = math::sin(t);
        const double d = u - center;
        double sum = 0;
        if (math::fabs(s) >= math::fabs(c)) {
          // Mostly along x: one sample per voxel column, interpolate in y.
          for (int ix = 0; ix < nx; ++ix) {
            const double x = ix - cx;
            const double fy = cy - (d - x * c) / s;  // row coordinate
            const double f = math::floor(fy);
            const int i0 = int(f);
            const double w = fy - f;
            if (i0 >= 0 && i0 < ny) sum += (1.0 - w) * vol(r, i0, ix);
            if (i0 + 1 >= 0 && i0 + 1 < ny) sum += w * vol(r, i0 + 1, ix);
          }
          sum /= math::fabs(s);
        } else {
          for (int iy = 0; iy < ny; ++iy) {
            const double y = cy - iy;
            const double fx = cx + (d - y * s) / c;
            const double f = math::floor(fx);
            const int i0 = int(f);
            const double w = fx - f;
            if (i0 >= 0 && i0 < nx) sum += (1.0 - w) * vol(r, iy, i0);
            if (i0 + 1 >= 0 && i0 + 1 < nx) sum += w * vol(r, iy, i0 + 1);
          }
          sum /= math::fabs(c);
        }
        out(r, a, u) = Real(sum);
      });
}

}  // namespace beamflow::kernels
