#include "kernels/ml/composition.hpp"

#include <string>

#include "kernels/common/device_math.hpp"
#include "kernels/common/error.hpp"

namespace beamflow::kernels {

namespace {

#if KOKKOS_VERSION >= 30700
using Kokkos::pow;
#else
using Kokkos::Experimental::pow;
#endif

constexpr int kNormPowers[kCompositionNorms] = {0, 2, 3, 5, 7, 10};

struct CompositionFeatures {
  Kokkos::View<const double**> f;
  Kokkos::View<const double**> p;
  Kokkos::View<double**> out;

  KOKKOS_INLINE_FUNCTION void operator()(const int row) const {
    const int elements = static_cast<int>(f.extent(1));
    const int properties = static_cast<int>(p.extent(1));
    int mode = -1;
    for (int e = 0; e < elements; ++e)
      if (f(row, e) > 0 && (mode < 0 || f(row, e) > f(row, mode))) mode = e;
    for (int j = 0; j < properties; ++j) {
      double mean = 0, lo = 0, hi = 0;
      bool first = true;
      for (int e = 0; e < elements; ++e) {
        if (!(f(row, e) > 0)) continue;
        const double v = p(e, j);
        const double w = f(row, e) * v;
        mean += w;
        lo = first || v < lo ? v : lo;
        hi = first || v > hi ? v : hi;
        first = false;
      }
      double dev = 0;
      for (int e = 0; e < elements; ++e) {
        if (!(f(row, e) > 0)) continue;
        const double w = f(row, e) * math::fabs(p(e, j) - mean);
        dev += w;
      }
      const int k = kCompositionStatistics * j;
      out(row, k) = mean;
      out(row, k + 1) = dev;
      out(row, k + 2) = lo;
      out(row, k + 3) = hi;
      out(row, k + 4) = hi - lo;
      out(row, k + 5) = mode < 0 ? 0.0 : p(mode, j);
    }
    for (int n = 0; n < kCompositionNorms; ++n) {
      const int power = kNormPowers[n];
      double s = 0;
      for (int e = 0; e < elements; ++e) {
        const double x = f(row, e);
        if (!(x > 0)) continue;
        if (power == 0) {
          s += 1.0;
          continue;
        }
        double term = x;
        for (int q = 1; q < power; ++q) term *= x;
        s += term;
      }
      out(row, kCompositionStatistics * properties + n) = power == 0 ? s : pow(s, 1.0 / power);
    }
  }
};

}  // namespace

void composition_features(Kokkos::View<const double**> fractions, Kokkos::View<const double**> properties,
                          Kokkos::View<double**> out) {
  if (fractions.extent(1) != properties.extent(0))
    throw Error(error_id::Shape, "composition_features",
                std::to_string(fractions.extent(1)) + " fraction columns for " +
                    std::to_string(properties.extent(0)) + " elements in the property table");
  const auto features =
      static_cast<std::size_t>(composition_feature_count(static_cast<int>(properties.extent(1))));
  if (out.extent(0) != fractions.extent(0) || out.extent(1) != features)
    throw Error(error_id::Shape, "composition_features",
                "output is " + std::to_string(out.extent(0)) + " x " + std::to_string(out.extent(1)) +
                    ", expected " + std::to_string(fractions.extent(0)) + " x " + std::to_string(features));
  Kokkos::parallel_for("beamflow::composition::features",
                       Kokkos::RangePolicy<ExecSpace>(0, static_cast<int>(fractions.extent(0))),
                       CompositionFeatures{fractions, properties, out});
  Kokkos::fence();
}

}  // namespace beamflow::kernels
