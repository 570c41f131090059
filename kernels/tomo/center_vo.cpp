// Vo et al. 2014's centre metric, evaluated for any sub-pixel shift from one
// 2-D FFT of the sinogram and its mirror (see center.hpp).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "kernels/tomo/center.hpp"
#include "kernels/tomo/center_common.hpp"
#include "kernels/common/device_math.hpp"
#include "kernels/common/error.hpp"
#include "kernels/common/fft.hpp"

namespace beamflow::kernels {
namespace {

using Cplx = Kokkos::complex<Real>;
constexpr const char* kWhere = "find_center_vo";

// The Fourier coefficients outside the double wedge, for the sinogram (a)
// and its mirror (b, with the (-1)^m of its place in the 360-degree stack).
// For a shift s of the mirror, F = a + e^{-2 pi i k s / np} b.
struct WedgeComplement {
  Kokkos::View<Real*> ar, ai, br, bi;
  Kokkos::View<int*> k;
  int np = 0;
  int max_k = 0;
};

// Rows covering the first 180 degrees of a uniformly spaced scan.
int half_turn_rows(Angles theta) {
  auto t = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), theta);
  const int a = static_cast<int>(t.extent(0));
  if (a < 8)
    throw Error(error_id::Angles, kWhere, "need at least 8 angles, got " + std::to_string(a));
  const double step = (double(t(a - 1)) - double(t(0))) / (a - 1);
  if (!(std::abs(step) > 0)) throw Error(error_id::Angles, kWhere, "angles do not advance");
  for (int i = 0; i < a; ++i) {
    if (std::abs(double(t(i)) - double(t(0)) - i * step) > 0.05 * std::abs(step)) {
      throw Error(error_id::Angles, kWhere,
                  "angles must be uniformly spaced (angle " + std::to_string(i) + " is off)");
    }
  }
  const int rows = static_cast<int>(std::lround(math::pi / std::abs(step)));
  if (rows > a) {
    char span[32];
    std::snprintf(span, sizeof span, "%.1f", (a - 1) * std::abs(step) * 180 / math::pi);
    throw Error(error_id::Angles, kWhere,
                std::string("angles span ") + span + " degrees; the method needs 180");
  }
  return rows;
}

WedgeComplement wedge_complement(Kokkos::View<const Real**> sino, int rows, int np,
                                 const VoParams& params) {
  const int n = static_cast<int>(sino.extent(1));
  const int stack = 2 * rows;
  Kokkos::View<Cplx**, Kokkos::LayoutRight> z("beamflow::center::vo_stack", stack, np);
  // Real part: the sinogram; imaginary part: its mirror; both continued
  // periodically by a ramp through the padding so the wrap adds no edge.
  Kokkos::parallel_for(
      "beamflow::center::vo_stack",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>({0, 0}, {stack, np}),
      KOKKOS_LAMBDA(int r, int u) {
        if (r >= rows) {
          z(r, u) = Cplx(0, 0);
        } else if (u < n) {
          z(r, u) = Cplx(sino(r, u), sino(r, n - 1 - u));
        } else {
          const Real t = Real(u - n + 1) / Real(np - n + 1);
          const Real first = sino(r, 0), last = sino(r, n - 1);
          z(r, u) = Cplx(last + t * (first - last), first + t * (last - first));
        }
      });
  fft::Layout layout;
  layout.kind = fft::Kind::Forward;
  layout.rank = 2;
  layout.n = {stack, np};
  layout.once = true;
  fft::execute(layout, z, z);
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), z);

  // Keep |n| > max(drop, 2 pi r kappa), kappa = k / np > 1.5 / N, on k > 0
  // (|F| is symmetric, so the half plane carries the metric).
  const double radius = params.ratio * 0.5 * n;
  const double sigma = params.smoothing;
  std::vector<Real> ar, ai, br, bi;
  std::vector<int> ks;
  int max_k = 0;
  for (int k = 1; k <= np / 2; ++k) {
    const double kappa = double(k) / np;
    if (kappa < 1.5 / n) continue;
    const double wedge = std::max(double(params.drop), 2.0 * math::pi * radius * kappa);
    for (int m = 0; m < stack; ++m) {
      const int harmonic = m < rows ? m : m - stack;
      if (std::abs(harmonic) <= wedge) continue;
      const Cplx zp = h(m, k);
      const Cplx zm = h((stack - m) % stack, (np - k) % np);
      // Gaussian smoothing along the detector, as a weight per coefficient.
      const Real weight =
          Real(std::exp(-2.0 * math::pi * math::pi * sigma * sigma * kappa * kappa));
      const Real sign = (m % 2) ? -weight : weight;
      ar.push_back(weight * Real(0.5) * (zp.real() + zm.real()));
      ai.push_back(weight * Real(0.5) * (zp.imag() - zm.imag()));
      br.push_back(sign * Real(0.5) * (zp.imag() + zm.imag()));
      bi.push_back(sign * Real(-0.5) * (zp.real() - zm.real()));
      ks.push_back(k);
      max_k = k;
    }
  }
  if (ks.empty()) {
    throw Error(error_id::Argument, kWhere,
                "no Fourier coefficients outside the double wedge; lower ratio or drop");
  }
  WedgeComplement w;
  w.np = np;
  w.max_k = max_k;
  w.ar = detail::to_device<Real>("beamflow::center::vo_ar", ar);
  w.ai = detail::to_device<Real>("beamflow::center::vo_ai", ai);
  w.br = detail::to_device<Real>("beamflow::center::vo_br", br);
  w.bi = detail::to_device<Real>("beamflow::center::vo_bi", bi);
  w.k = detail::to_device<int>("beamflow::center::vo_k", ks);
  return w;
}

class VoMetric {
 public:
  explicit VoMetric(WedgeComplement w)
      : m_w(std::move(w)),
        m_cos("beamflow::center::vo_cos", m_w.max_k + 1),
        m_sin("beamflow::center::vo_sin", m_w.max_k + 1) {}

  // Sum of |F| outside the wedge with the mirror shifted by `shift` columns.
  double operator()(double shift) const {
    auto c = m_cos;
    auto s = m_sin;
    const double w0 = -2.0 * math::pi * shift / m_w.np;
    Kokkos::parallel_for(
        "beamflow::center::vo_phase", Kokkos::RangePolicy<ExecSpace>(0, m_w.max_k + 1),
        KOKKOS_LAMBDA(int k) {
          c(k) = Real(math::cos(w0 * k));
          s(k) = Real(math::sin(w0 * k));
        });
    auto ar = m_w.ar, ai = m_w.ai, br = m_w.br, bi = m_w.bi;
    auto ks = m_w.k;
    double sum = 0;
    Kokkos::parallel_reduce(
        "beamflow::center::vo_metric", Kokkos::RangePolicy<ExecSpace>(0, ks.extent(0)),
        KOKKOS_LAMBDA(int p, double& acc) {
          const int k = ks(p);
          const Real re = ar(p) + c(k) * br(p) - s(k) * bi(p);
          const Real im = ai(p) + c(k) * bi(p) + s(k) * br(p);
          acc += math::sqrt(re * re + im * im);
        },
        sum);
    return sum;
  }

 private:
  WedgeComplement m_w;
  Kokkos::View<Real*> m_cos;
  Kokkos::View<Real*> m_sin;
};

}  // namespace

CenterEstimate find_center_vo(Kokkos::View<const Real**> sino, Angles theta,
                              const VoParams& params) {
  const int n = static_cast<int>(sino.extent(1));
  if (theta.extent(0) != sino.extent(0)) {
    throw Error(error_id::Shape, kWhere,
                "theta has " + std::to_string(theta.extent(0)) + " angles but the sinogram has " +
                    std::to_string(sino.extent(0)));
  }
  if (n < 16)
    throw Error(error_id::Shape, kWhere, "need at least 16 columns, got " + std::to_string(n));
  if (!(params.search_radius >= 1 && params.search_radius <= n / 2.0) ||
      !(params.ratio > 0 && params.ratio <= 1) || params.drop < 0 || !(params.tolerance > 0) ||
      !(params.smoothing >= 0)) {
    throw Error(error_id::Argument, kWhere,
                "need 1 <= search_radius <= columns/2, 0 < ratio <= 1, drop >= 0, tolerance > 0, "
                "smoothing >= 0");
  }
  const int rows = half_turn_rows(theta);
  // Shift s of the mirror (in columns) = 2 (c - (N-1)/2).
  const int max_shift = static_cast<int>(std::ceil(2.0 * params.search_radius));
  const int np = fft::good_size(n + 2 * max_shift + 8);
  const VoMetric metric(wedge_complement(sino, rows, np, params));

  std::vector<double> coarse(2 * max_shift + 1);
  for (int i = 0; i <= 2 * max_shift; ++i) coarse[i] = metric(double(i - max_shift));
  const detail::Search found =
      detail::refine_minimum(coarse, -max_shift, 1.0, metric, 2.0 * params.tolerance);
  return {0.5 * (n - 1) + 0.5 * found.position, found.confidence};
}

}  // namespace beamflow::kernels
