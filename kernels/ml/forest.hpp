#pragma once
// Tree-ensemble inference (random forests, gradient-boosted trees) with
// scikit-learn's arithmetic, so that outputs are bit-identical to its
// predict_proba / predict (docs/models.md, "Exactness"):
//   - inputs are float32 and a row goes left when x <= threshold, the float
//     promoted to the float64 threshold (sklearn casts X to float32);
//   - each row sums its trees' leaf values in float64, in tree order,
//     starting from 0 (forests) or the initial raw prediction (boosting);
//   - forests then divide by the number of trees; boosting applies the
//     loss's link: identity, expit, expit(2 raw) or numpy's softmax.
// The caller builds the flattened ensemble (jobs/models/forest_runtime.cpp);
// this header only evaluates it.
#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels/common/views.hpp"

namespace beamflow::kernels::forest {

// One node, 12 bytes. The children of a split are adjacent: a row goes to
// `children` when x[feature] <= threshold, else to `children + 1`. A leaf is
// its own left child with threshold +inf, so a traversal may take a fixed
// number of steps (the tree's depth) without testing for leaves.
struct Node {
  float threshold;
  std::int32_t feature;
  std::int32_t children;
};

// The float32 threshold that decides exactly like the float64 one: for any
// float x, (double)x <= t  <=>  x <= float_threshold(t) (the largest float
// not above t; -inf below the float range).
inline float float_threshold(double t) {
  float f = static_cast<float>(t);  // nearest; may round up
  if (static_cast<double>(f) > t) f = std::nextafter(f, -std::numeric_limits<float>::infinity());
  return f;
}

// How an ensemble turns the per-row sum of leaf values into outputs.
enum class Aggregation {
  Mean,  // forests: sum / number of trees
  Sum,   // boosting: initial raw prediction + sum (leaf values pre-scaled by the learning rate)
};
enum class Link {
  Identity,             // regression, forests
  Logistic,             // binary deviance: p1 = expit(raw), p0 = 1 - p1 (2 output columns)
  ExponentialLogistic,  // exponential loss: p1 = expit(2 raw), p0 = 1 - p1
  Softmax,              // multinomial deviance, as numpy/scipy compute it
};

// Number of classes a softmax link accepts (numpy's pairwise-summation block).
inline constexpr int kMaxSoftmaxColumns = 128;

struct Ensemble {
  Kokkos::View<const Node*> nodes;            // every tree's nodes, global indices
  Kokkos::View<const double**> values;        // [node][value]: leaf values, read at leaves only
  Kokkos::View<const std::int32_t*> roots;    // [tree] root node
  Kokkos::View<const std::int32_t*> depths;   // [tree] steps from the root to its deepest leaf
  Kokkos::View<const std::int32_t*> columns;  // [tree] first raw column the tree's values add to
  Kokkos::View<const double*> init;           // [raw column] starting value of each row's sum
  int n_features = 0;
  Aggregation aggregation = Aggregation::Mean;
  Link link = Link::Identity;

  int raw_columns() const { return static_cast<int>(init.extent(0)); }
  // Columns of the output: 2 for the logistic links, raw_columns() otherwise.
  int output_columns() const {
    return link == Link::Logistic || link == Link::ExponentialLogistic ? 2 : raw_columns();
  }
  int n_trees() const { return static_cast<int>(roots.extent(0)); }
};

// x [row][feature] (finite values; extent(1) == n_features) ->
// out [row][output column]. Throws kernels::Error (kernels.shape) when
// extents disagree.
void predict(const Ensemble& ensemble, Kokkos::View<const float**> x, Kokkos::View<double**> out);

// numpy's float64 add.reduce over a contiguous run of n values (pairwise
// summation: 8 accumulators per block of up to 128, blocks split in halves
// above that), with value(i) giving the i-th term. For n <= 128.
template <class Value>
KOKKOS_INLINE_FUNCTION double numpy_sum(int n, const Value& value) {
  if (n < 8) {
    double s = 0.;
    for (int i = 0; i < n; ++i) s += value(i);
    return s;
  }
  double r[8];
  for (int j = 0; j < 8; ++j) r[j] = value(j);
  int i = 8;
  for (; i < n - (n % 8); i += 8)
    for (int j = 0; j < 8; ++j) r[j] += value(i + j);
  double s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
  for (; i < n; ++i) s += value(i);
  return s;
}

}  // namespace beamflow::kernels::forest
