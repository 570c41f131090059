// Paganin single-distance phase retrieval (see preprocess.hpp).
#include <cmath>
#include <string>

#include "kernels/common/device_math.hpp"
#include "kernels/common/error.hpp"
#include "kernels/common/fft.hpp"
#include "kernels/tomo/preprocess.hpp"

namespace beamflow::kernels {
namespace {

constexpr double kHcKevMetre = 1.23984198e-9;  // h c in keV m: lambda = hc / E

// Padding on each side: the filter's kernel decays like exp(-r / l) with
// l = sqrt(a) / (2 pi) pixels, a = pi lambda z (delta/beta) / pixel^2; six
// lengths leave < 0.3% of it to wrap, and the padding never exceeds the image.
int decay_margin(double a_pixels) {
  const double l = std::sqrt(a_pixels) / (2.0 * math::pi);
  return static_cast<int>(std::ceil(6.0 * l) + 8.0);
}
int margin(int extent, double a_pixels) {
  const int m = decay_margin(a_pixels);
  return m < extent ? m : extent;
}

// Paganin's mu / (mu + z delta |2 pi f|^2) with mu = 4 pi beta / lambda is
// 1 / (1 + a f^2), f in cycles per pixel.
double strength(const PaganinParams& p) {
  const double wavelength = kHcKevMetre / p.energy;
  return math::pi * wavelength * p.distance * p.delta_over_beta / (p.pixel_size * p.pixel_size);
}

}  // namespace

int paganin_halo(const PaganinParams& p) { return decay_margin(strength(p)); }

void paganin(Kokkos::View<Real***> proj, const PaganinParams& p) {
  const bool ok = std::isfinite(p.pixel_size) && p.pixel_size > 0 && std::isfinite(p.distance) &&
                  p.distance >= 0 && std::isfinite(p.energy) && p.energy > 0 &&
                  std::isfinite(p.delta_over_beta) && p.delta_over_beta >= 0;
  if (!ok) {
    throw Error(
        error_id::Argument, "paganin",
        "need pixel_size > 0 m, distance >= 0 m, energy > 0 keV, delta_over_beta >= 0 (got " +
            std::to_string(p.pixel_size) + ", " + std::to_string(p.distance) + ", " +
            std::to_string(p.energy) + ", " + std::to_string(p.delta_over_beta) + ")");
  }
  const int angles = static_cast<int>(proj.extent(0));
  const int rows = static_cast<int>(proj.extent(1));
  const int cols = static_cast<int>(proj.extent(2));
  if (angles == 0 || rows == 0 || cols == 0) return;
  const double a = strength(p);
  const int my = margin(rows, a), mx = margin(cols, a);
  const int py = fft::good_size(rows + 2 * my), px = fft::good_size(cols + 2 * mx);
  const int bins = px / 2 + 1;
  Kokkos::View<Real**, Kokkos::LayoutRight> padded("beamflow::preprocess::paganin_padded", py, px);
  Kokkos::View<Kokkos::complex<Real>**, Kokkos::LayoutRight> spectrum(
      "beamflow::preprocess::paganin_spectrum", py, bins);
  fft::Layout forward;
  forward.kind = fft::Kind::RealToComplex;
  forward.rank = 2;
  forward.n = {py, px};
  fft::Layout backward = forward;
  backward.kind = fft::Kind::ComplexToReal;
  const Real norm = Real(1.0 / (double(py) * px));
  for (int i = 0; i < angles; ++i) {
    Kokkos::parallel_for(
        "beamflow::preprocess::paganin_pad",
        Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>({0, 0}, {py, px}),
        KOKKOS_LAMBDA(int y, int x) {
          // Centred, edges replicated outwards; the far padding wraps to both sides.
          int r = y - my, c = x - mx;
          if (r >= rows + (py - rows) / 2) r -= py;
          if (c >= cols + (px - cols) / 2) c -= px;
          r = r < 0 ? 0 : (r >= rows ? rows - 1 : r);
          c = c < 0 ? 0 : (c >= cols ? cols - 1 : c);
          padded(y, x) = proj(i, r, c);
        });
    fft::execute(forward, padded, spectrum);
    Kokkos::parallel_for(
        "beamflow::preprocess::paganin_filter",
        Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>({0, 0}, {py, bins}),
        KOKKOS_LAMBDA(int ky, int kx) {
          const double fy = double(ky <= py / 2 ? ky : ky - py) / py;
          const double fx = double(kx) / px;
          spectrum(ky, kx) *= Real(norm / (1.0 + a * (fx * fx + fy * fy)));
        });
    fft::execute(backward, spectrum, padded);
    Kokkos::parallel_for(
        "beamflow::preprocess::paganin_crop",
        Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>({0, 0}, {rows, cols}),
        KOKKOS_LAMBDA(int r, int c) { proj(i, r, c) = padded(r + my, c + mx); });
  }
}

}  // namespace beamflow::kernels
