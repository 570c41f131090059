// Zinger removal (see preprocess.hpp).
#include <string>

#include "kernels/common/device_math.hpp"
#include "kernels/common/error.hpp"
#include "kernels/tomo/preprocess.hpp"

namespace beamflow::kernels {
namespace {
constexpr int kMaxSize = 9;
}

void remove_zingers(Kokkos::View<Real***> proj, Real threshold, int size) {
  if (size < 3 || size > kMaxSize || size % 2 == 0) {
    throw Error(
        error_id::Argument, "remove_zingers",
        "size must be odd, 3.." + std::to_string(kMaxSize) + ", got " + std::to_string(size));
  }
  if (!(threshold >= 0) || !math::isfinite(threshold)) {
    throw Error(error_id::Argument, "remove_zingers", "threshold must be a finite number >= 0");
  }
  const int angles = static_cast<int>(proj.extent(0));
  const int rows = static_cast<int>(proj.extent(1));
  const int cols = static_cast<int>(proj.extent(2));
  const int half = size / 2;
  Kokkos::View<Real**> median("beamflow::preprocess::zinger_median", rows, cols);
  const auto pixels = Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>({0, 0}, {rows, cols});
  for (int a = 0; a < angles; ++a) {
    Kokkos::parallel_for(
        "beamflow::preprocess::zinger_median", pixels, KOKKOS_LAMBDA(int r, int c) {
          Real window[kMaxSize * kMaxSize];
          int count = 0;
          for (int dr = -half; dr <= half; ++dr) {
            const int rr = math::reflect(r + dr, rows);
            for (int dc = -half; dc <= half; ++dc) {
              const Real v = proj(a, rr, math::reflect(c + dc, cols));
              if (math::isfinite(v)) window[count++] = v;
            }
          }
          median(r, c) = count ? math::median_inplace(window, count) : proj(a, r, c);
        });
    Kokkos::parallel_for(
        "beamflow::preprocess::zinger_replace", pixels, KOKKOS_LAMBDA(int r, int c) {
          const Real v = proj(a, r, c);
          if (!math::isfinite(v) || v - median(r, c) > threshold) proj(a, r, c) = median(r, c);
        });
  }
}

}  // namespace beamflow::kernels
