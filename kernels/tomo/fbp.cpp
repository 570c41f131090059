// Filtered back-projection: FFTW-filtered, zero-padded rows (row_filter.hpp)
// back-projected with linear interpolation.
#include <vector>

#include "kernels/common/device_math.hpp"
#include "kernels/tomo/recon.hpp"
#include "kernels/tomo/row_filter.hpp"

namespace beamflow::kernels {
namespace {

// acc[ix] += q(base + ix c), linear interpolation, for lo <= ix < hi (all
// in range). A free function on raw pointers so compilers vectorise it.
KOKKOS_INLINE_FUNCTION void accumulate_row(Real* __restrict acc, const Real* __restrict q,
                                           Real base, Real c, int lo, int hi) {
  for (int ix = lo; ix < hi; ++ix) {
    const Real u = base + Real(ix) * c;
    const int i = int(u);
    const Real w = u - Real(i);
    acc[ix] += q[i] + w * (q[i + 1] - q[i]);
  }
}

// Accumulates one image row per work item: the angle loop is outside and the
// pixel loop inside, so consecutive pixels read neighbouring samples of the
// same filtered row (vectorisable gathers on CPUs).
struct BackProject {
  Kokkos::View<const Real**, Kokkos::LayoutRight> filtered;  // [angle][padded]
  Kokkos::View<const Real*> cos_t;
  Kokkos::View<const Real*> sin_t;
  Kokkos::View<Real**, Kokkos::LayoutRight> image;  // one slice, rows contiguous
  int n;                                            // output grid size
  int angles;
  int padded;
  Real axis;  // centre column + padding offset, in padded coordinates

  KOKKOS_INLINE_FUNCTION void operator()(int iy) const {
    const Real half = Real(0.5) * Real(n - 1);
    const Real y = half - Real(iy);
    Real* __restrict acc = &image(iy, 0);
    for (int ix = 0; ix < n; ++ix) acc[ix] = 0;
    for (int a = 0; a < angles; ++a) {
      const Real c = cos_t(a);
      const Real base = axis + y * sin_t(a) - half * c;
      // Pixels whose ray lands inside the padded row, kept 0.01 sample from
      // its ends so float rounding cannot step outside: a branch-free loop.
      int lo = 0, hi = n;
      const double lim_lo = 0.01, lim_hi = padded - 1.01;
      if (c > Real(1e-7) || c < Real(-1e-7)) {
        double t0 = (lim_lo - base) / c, t1 = (lim_hi - base) / c;
        if (t0 > t1) {
          const double t = t0;
          t0 = t1;
          t1 = t;
        }
        lo = t0 > 0 ? int(math::ceil(t0)) : 0;
        hi = t1 < n - 1 ? int(math::floor(t1)) + 1 : n;
      } else if (base < lim_lo || base > lim_hi) {
        hi = 0;
      }
      accumulate_row(acc, &filtered(a, 0), base, c, lo, hi);
    }
  }
};

}  // namespace

void fbp(Kokkos::View<const Real***> sino, Angles theta, const ReconParams& params, Volume out) {
  const std::vector<double> centers = detail::checked_centers("fbp", sino, theta, params, out);
  const int rows = static_cast<int>(sino.extent(0));
  const int angles = static_cast<int>(sino.extent(1));
  const int width = static_cast<int>(sino.extent(2));
  const int n = static_cast<int>(out.extent(1));
  if (rows == 0) return;

  const detail::RowFilter row_filter(params.filter, width, angles, params.pad);
  detail::PaddedRows filtered(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "beamflow::fbp::filtered"), angles,
      row_filter.padded());
  Kokkos::View<Real*> cos_t("beamflow::fbp::cos", angles);
  Kokkos::View<Real*> sin_t("beamflow::fbp::sin", angles);
  detail::angle_tables(theta, cos_t, sin_t);

  Kokkos::View<Real**, Kokkos::LayoutRight> image(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "beamflow::fbp::image"), n, n);
  BackProject bp{filtered, cos_t, sin_t, image, n, angles, row_filter.padded(), 0};
  const Real scale = Real(math::pi / angles);
  for (int r = 0; r < rows; ++r) {
    row_filter.apply(sino, r, filtered);
    bp.axis = Real(centers[r] + row_filter.offset());
    Kokkos::parallel_for("beamflow::fbp::backproject", Kokkos::RangePolicy<ExecSpace>(0, n), bp);
    Kokkos::parallel_for(
        "beamflow::fbp::store", Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>({0, 0}, {n, n}),
        KOKKOS_LAMBDA(int iy, int ix) { out(r, iy, ix) = scale * image(iy, ix); });
  }
}

namespace detail {
void prepare_fbp(int angles, int width, const ReconParams& params) {
  const RowFilter row_filter(params.filter, width, angles, params.pad);
  PaddedRows filtered("beamflow::fbp::filtered", angles, row_filter.padded());
  row_filter.apply(Sinograms("beamflow::fbp::zeros", 1, angles, width), 0, filtered);
}
}  // namespace detail

}  // namespace beamflow::kernels
