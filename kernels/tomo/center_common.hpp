#pragma once
// Internal helpers shared by the centre finders.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "kernels/common/views.hpp"

namespace beamflow::kernels::detail {

template <class T>
Kokkos::View<T*> to_device(const std::string& label, const std::vector<T>& values) {
  Kokkos::View<T*> out(label, values.size());
  auto host = Kokkos::create_mirror_view(out);
  for (std::size_t i = 0; i < values.size(); ++i) host(i) = values[i];
  Kokkos::deep_copy(out, host);
  return out;
}

struct Search {
  double position;
  double confidence;
};

// Given a metric sampled at start + i * step (coarse), refines its global
// minimum by golden-section search within one step on each side, to
// `tolerance`. Confidence = contrast * uniqueness, where contrast =
// (median - min) / (max - min) of the coarse samples (near 1 for a narrow dip
// in a flat curve, about 1/2 for a plain slope or broad valley) and
// uniqueness =
// (second - min) / (median - min) with `second` the lowest other local
// minimum at least 4 steps away (the median if there is none); both clamped
// to [0, 1]. A minimum on the border of the range gets confidence 0.
template <class Metric>
Search refine_minimum(const std::vector<double>& coarse, double start, double step,
                      const Metric& metric, double tolerance) {
  const int count = static_cast<int>(coarse.size());
  const int best =
      static_cast<int>(std::min_element(coarse.begin(), coarse.end()) - coarse.begin());
  const double lowest = coarse[best];
  if (best == 0 || best == count - 1) return {start + best * step, 0.0};

  std::vector<double> sorted = coarse;
  std::nth_element(sorted.begin(), sorted.begin() + count / 2, sorted.end());
  const double median = sorted[count / 2];
  double second = median;
  for (int j = 1; j + 1 < count; ++j) {
    if (std::abs(j - best) >= 4 && coarse[j] <= coarse[j - 1] && coarse[j] <= coarse[j + 1]) {
      second = std::min(second, coarse[j]);
    }
  }
  const auto clamp01 = [](double v) { return std::isfinite(v) ? std::clamp(v, 0.0, 1.0) : 0.0; };
  const double highest = *std::max_element(coarse.begin(), coarse.end());
  const double contrast = highest > lowest ? clamp01((median - lowest) / (highest - lowest)) : 0.0;
  const double uniqueness = median > lowest ? clamp01((second - lowest) / (median - lowest)) : 0.0;

  // Golden-section search on [best - 1, best + 1] steps.
  const double g = 0.5 * (std::sqrt(5.0) - 1.0);
  double a = start + (best - 1) * step, b = start + (best + 1) * step;
  double x1 = b - g * (b - a), x2 = a + g * (b - a);
  double f1 = metric(x1), f2 = metric(x2);
  while (b - a > tolerance) {
    if (f1 < f2) {
      b = x2;
      x2 = x1;
      f2 = f1;
      x1 = b - g * (b - a);
      f1 = metric(x1);
    } else {
      a = x1;
      x1 = x2;
      f1 = f2;
      x2 = a + g * (b - a);
      f2 = metric(x2);
    }
  }
  return {0.5 * (a + b), contrast * uniqueness};
}

}  // namespace beamflow::kernels::detail
