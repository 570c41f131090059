#pragma once
// Helpers shared by the kernel tests (host-side; the Views live in the
// default memory space and are mirrored where read).
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <random>
#include <string>

#include "kernels/common/error.hpp"
#include "kernels/common/views.hpp"

namespace beamflow::kernels::testing {

inline constexpr double kPi = std::numbers::pi;

// n angles spread uniformly over [0, span).
inline Kokkos::View<Real*> uniform_angles(int n, double span = kPi) {
  Kokkos::View<Real*> theta("theta", n);
  auto h = Kokkos::create_mirror_view(theta);
  for (int a = 0; a < n; ++a) h(a) = Real(span * a / n);
  Kokkos::deep_copy(theta, h);
  return theta;
}

inline Kokkos::View<Real*> values(std::initializer_list<double> list) {
  Kokkos::View<Real*> v("values", list.size());
  auto h = Kokkos::create_mirror_view(v);
  int i = 0;
  for (double x : list) h(i++) = Real(x);
  Kokkos::deep_copy(v, h);
  return v;
}

// Pixels of an n x n grid within `radius` of its centre (n-1)/2.
inline bool in_disc(int n, int iy, int ix, double radius) {
  const double dx = ix - 0.5 * (n - 1), dy = iy - 0.5 * (n - 1);
  return dx * dx + dy * dy <= radius * radius;
}

// PSNR of slice `row` against the truth inside the reconstruction circle
// (radius n/2 - 2: the corners are outside every projection's support and
// not part of any reconstruction's promise). Peak = max |truth| there.
inline double psnr(Volume recon, Volume truth, int row) {
  auto r = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), recon);
  auto t = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), truth);
  const int n = static_cast<int>(recon.extent(1));
  double mse = 0, peak = 0;
  int count = 0;
  for (int y = 0; y < n; ++y) {
    for (int x = 0; x < n; ++x) {
      if (!in_disc(n, y, x, 0.5 * n - 2)) continue;
      const double d = double(r(row, y, x)) - double(t(row, y, x));
      mse += d * d;
      peak = std::max(peak, std::abs(double(t(row, y, x))));
      ++count;
    }
  }
  return 10.0 * std::log10(peak * peak / (mse / count));
}

// Mean of slice `row` within `radius` of the grid centre.
inline double disc_mean(Volume v, int row, double radius) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
  const int n = static_cast<int>(v.extent(1));
  double sum = 0;
  int count = 0;
  for (int y = 0; y < n; ++y) {
    for (int x = 0; x < n; ++x) {
      if (in_disc(n, y, x, radius)) {
        sum += h(row, y, x);
        ++count;
      }
    }
  }
  return sum / count;
}

// Adds Gaussian noise of sigma = fraction * (max |value|), seeded.
template <class View>
void add_noise(View v, double fraction, unsigned seed) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
  Real* p = h.data();
  double peak = 0;
  for (std::size_t i = 0; i < h.span(); ++i) peak = std::max(peak, std::abs(double(p[i])));
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, fraction * peak);
  for (std::size_t i = 0; i < h.span(); ++i) p[i] = Real(p[i] + normal(rng));
  Kokkos::deep_copy(v, h);
}

// Runs f, expecting kernels::Error with `id` whose what() contains `text`.
template <class F>
void expect_error(F&& f, const std::string& id, const std::string& text) {
  try {
    f();
    ADD_FAILURE() << "expected kernels::Error " << id;
  } catch (const Error& e) {
    EXPECT_EQ(e.id(), id) << e.what();
    EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).rfind("[" + id + "] ", 0), 0u) << e.what();
  }
}

}  // namespace beamflow::kernels::testing
