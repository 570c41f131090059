#pragma once
// Magpie-style composition features (Ward, Agrawal, Choudhary, Wolverton,
// npj Comput. Mater. 2, 16028 (2016)) for materials models: statistics of
// elemental properties weighted by the atomic fractions of a composition,
// and the stoichiometric norms of the fractions.
//
// For every property j, six features at 6j .. 6j+5:
//   mean      sum_e f_e p_e
//   avg_dev   sum_e f_e |p_e - mean|
//   min, max  over the elements present (f_e > 0); range = max - min
//   mode      p of the most abundant element (the first in table order on ties)
// then six norms at 6P .. 6P+5: L0 (number of elements present) and
// Lp = (sum_e f_e^p)^(1/p) for p = 2, 3, 5, 7, 10 (f^p by repeated
// multiplication). Sums run over the elements present in table order, so
// tools/glass_features.py reproduces the values bit for bit.
#include "kernels/common/views.hpp"

namespace beamflow::kernels {

inline constexpr int kCompositionStatistics = 6;
inline constexpr int kCompositionNorms = 6;
inline constexpr int composition_feature_count(int properties) {
  return kCompositionStatistics * properties + kCompositionNorms;
}

// fractions [row][element] (>= 0, each row summing to 1; the caller
// normalises), properties [element][property] -> out [row][feature].
// Throws kernels::Error (kernels.shape) when extents disagree.
void composition_features(Kokkos::View<const double**> fractions, Kokkos::View<const double**> properties,
                          Kokkos::View<double**> out);

}  // namespace beamflow::kernels
