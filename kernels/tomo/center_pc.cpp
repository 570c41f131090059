// Phase correlation of the 0 and mirrored 180 degree projections (see
// center.hpp), with the peak refined by a matrix-multiply DFT on an
// upsampled grid (Guizar-Sicairos, Thurman & Fienup 2008).
#include <algorithm>
#include <array>
#include <cmath>
#include <string>

#include "kernels/tomo/center.hpp"
#include "kernels/common/device_math.hpp"
#include "kernels/common/error.hpp"
#include "kernels/common/fft.hpp"

namespace beamflow::kernels {
namespace {

using Cplx = Kokkos::complex<Real>;
using Spectrum = Kokkos::View<Cplx**, Kokkos::LayoutRight>;
using Plane = Kokkos::View<Real**, Kokkos::LayoutRight>;
constexpr const char* kWhere = "find_center_pc";

// Tukey window (cosine tapers over the outer `frac` of each end); symmetric,
// so it commutes with the mirroring.
KOKKOS_INLINE_FUNCTION Real tukey(int i, int n, Real frac) {
  const Real t = n > 1 ? Real(i) / Real(n - 1) : Real(0.5);
  const Real edge = t < Real(0.5) ? t : Real(1) - t;
  if (edge >= Real(0.5) * frac) return Real(1);
  return Real(0.5) * (Real(1) - math::cos(Real(math::pi) * edge / (Real(0.5) * frac)));
}

// Mean-removed, windowed copy; mirrored left-right when `mirror`.
void prepare(Kokkos::View<const Real**> proj, bool mirror, Plane out) {
  const int rows = static_cast<int>(proj.extent(0));
  const int cols = static_cast<int>(proj.extent(1));
  double sum = 0;
  Kokkos::parallel_reduce(
      "beamflow::center::pc_mean",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>({0, 0}, {rows, cols}),
      KOKKOS_LAMBDA(int r, int c, double& acc) { acc += proj(r, c); }, sum);
  const Real mean = Real(sum / (double(rows) * cols));
  Kokkos::parallel_for(
      "beamflow::center::pc_prepare",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>({0, 0}, {rows, cols}),
      KOKKOS_LAMBDA(int r, int c) {
        const Real v = proj(r, mirror ? cols - 1 - c : c) - mean;
        out(r, c) = v * tukey(r, rows, Real(0.25)) * tukey(c, cols, Real(0.25));
      });
}

}  // namespace

CenterEstimate find_center_pc(Kokkos::View<const Real**> proj0, Kokkos::View<const Real**> proj180,
                              const PcParams& params) {
  const int rows = static_cast<int>(proj0.extent(0));
  const int cols = static_cast<int>(proj0.extent(1));
  if (proj180.extent(0) != proj0.extent(0) || proj180.extent(1) != proj0.extent(1)) {
    throw Error(error_id::Shape, kWhere,
                "projections differ in shape: " + std::to_string(rows) + "x" +
                    std::to_string(cols) + " and " + std::to_string(proj180.extent(0)) + "x" +
                    std::to_string(proj180.extent(1)));
  }
  if (rows < 1 || cols < 16) {
    throw Error(error_id::Shape, kWhere, "need at least 1 row and 16 columns");
  }
  if (params.upsample < 1 || params.upsample > 1000) {
    throw Error(error_id::Argument, kWhere, "upsample must be in 1..1000");
  }
  const int bins = cols / 2 + 1;
  Plane a("beamflow::center::pc_a", rows, cols), b("beamflow::center::pc_b", rows, cols);
  Spectrum fa("beamflow::center::pc_fa", rows, bins), fb("beamflow::center::pc_fb", rows, bins);
  prepare(proj0, false, a);
  prepare(proj180, true, b);
  fft::Layout forward;
  forward.kind = fft::Kind::RealToComplex;
  forward.rank = rows > 1 ? 2 : 1;
  forward.n = rows > 1 ? std::array<int, 2>{rows, cols} : std::array<int, 2>{cols, 1};
  forward.once = true;
  fft::execute(forward, a, fa);
  fft::execute(forward, b, fb);

  // Normalised cross-power spectrum, kept in fa.
  Kokkos::parallel_for(
      "beamflow::center::pc_cross_power",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>({0, 0}, {rows, bins}),
      KOKKOS_LAMBDA(int r, int k) {
        const Cplx c = fa(r, k) * Kokkos::conj(fb(r, k));
        const Real mag = Kokkos::abs(c);
        fa(r, k) = mag > Real(1e-30) ? c / mag : Cplx(0, 0);
      });
  Spectrum cross("beamflow::center::pc_cross", rows, bins);
  Kokkos::deep_copy(cross, fa);  // the inverse FFT destroys its input
  fft::Layout backward = forward;
  backward.kind = fft::Kind::ComplexToReal;
  fft::execute(backward, fa, a);

  // Integer peak.
  using Peak = Kokkos::MaxLoc<Real, int>::value_type;
  Peak peak;
  Kokkos::parallel_reduce(
      "beamflow::center::pc_peak", Kokkos::RangePolicy<ExecSpace>(0, rows * cols),
      KOKKOS_LAMBDA(int i, Peak& best) {
        const Real v = a(i / cols, i % cols);
        if (v > best.val) {
          best.val = v;
          best.loc = i;
        }
      },
      Kokkos::MaxLoc<Real, int>(peak));
  const int py = peak.loc / cols, px = peak.loc % cols;
  const double y0 = py <= rows / 2 ? py : py - rows;
  const double x0 = px <= cols / 2 ? px : px - cols;

  // Upsampled correlation on [-1, 1] steps around the peak:
  // c(y, x) = sum_ky sum_kx w(kx) Re(C e^{2 pi i (ky y / rows + kx x / cols)}).
  const int up = params.upsample;
  const int span = 2 * up + 1;
  using Phases = Kokkos::View<Kokkos::complex<double>**>;
  Phases phase_x("beamflow::center::pc_phase_x", span, bins);
  Phases phase_y("beamflow::center::pc_phase_y", span, rows);
  Kokkos::parallel_for(
      "beamflow::center::pc_phases",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>({0, 0}, {span, bins > rows ? bins : rows}),
      KOKKOS_LAMBDA(int j, int k) {
        const double d = double(j - up) / up;
        if (k < bins) {
          const double w = (k == 0 || 2 * k == cols) ? 1.0 : 2.0;
          const double ph = 2.0 * math::pi * k * (x0 + d) / cols;
          phase_x(j, k) = Kokkos::complex<double>(w * math::cos(ph), w * math::sin(ph));
        }
        if (k < rows) {
          const int ky = k <= rows / 2 ? k : k - rows;
          const double ph = 2.0 * math::pi * ky * (y0 + d) / rows;
          phase_y(j, k) = Kokkos::complex<double>(math::cos(ph), math::sin(ph));
        }
      });
  Phases partial("beamflow::center::pc_partial", rows, span);
  Kokkos::parallel_for(
      "beamflow::center::pc_upsample_x",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>({0, 0}, {rows, span}),
      KOKKOS_LAMBDA(int r, int j) {
        Kokkos::complex<double> sum(0, 0);
        for (int k = 0; k < bins; ++k) sum += Kokkos::complex<double>(cross(r, k)) * phase_x(j, k);
        partial(r, j) = sum;
      });
  Kokkos::View<double**> fine("beamflow::center::pc_fine", span, span);
  Kokkos::parallel_for(
      "beamflow::center::pc_upsample_y",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>({0, 0}, {span, span}),
      KOKKOS_LAMBDA(int i, int j) {
        double sum = 0;
        for (int r = 0; r < rows; ++r) sum += (partial(r, j) * phase_y(i, r)).real();
        fine(i, j) = sum;
      });
  auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), fine);
  int bi = up, bj = up;
  for (int i = 0; i < span; ++i) {
    for (int j = 0; j < span; ++j) {
      if (host(i, j) > host(bi, bj)) {
        bi = i;
        bj = j;
      }
    }
  }
  const double shift = x0 + double(bj - up) / up;
  const double height = host(bi, bj) / (double(rows) * cols);
  return {0.5 * (cols - 1) + 0.5 * shift,
          std::isfinite(height) ? std::clamp(height, 0.0, 1.0) : 0.0};
}

}  // namespace beamflow::kernels
