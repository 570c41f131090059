// Sorting-based ring removal (Vo et al. 2018, algorithm 3; see preprocess.hpp).
#include <string>

#include "kernels/common/device_math.hpp"
#include "kernels/common/error.hpp"
#include "kernels/tomo/preprocess.hpp"

namespace beamflow::kernels {
namespace {

constexpr int kMaxSize = 127;

// NaN sorts last so the heap stays consistent on bad input.
KOKKOS_INLINE_FUNCTION bool before(Real a, Real b) { return a < b || (b != b && a == a); }

// Heap sort of values[0..n) carrying index[] along; iterative, for kernels.
KOKKOS_INLINE_FUNCTION void sift_down(Real* values, int* index, int root, int n) {
  while (true) {
    int child = 2 * root + 1;
    if (child >= n) return;
    if (child + 1 < n && before(values[child], values[child + 1])) ++child;
    if (!before(values[root], values[child])) return;
    const Real v = values[root];
    values[root] = values[child];
    values[child] = v;
    const int i = index[root];
    index[root] = index[child];
    index[child] = i;
    root = child;
  }
}

KOKKOS_INLINE_FUNCTION void heap_sort(Real* values, int* index, int n) {
  for (int i = n / 2 - 1; i >= 0; --i) sift_down(values, index, i, n);
  for (int end = n - 1; end > 0; --end) {
    const Real v = values[0];
    values[0] = values[end];
    values[end] = v;
    const int i = index[0];
    index[0] = index[end];
    index[end] = i;
    sift_down(values, index, 0, end);
  }
}

}  // namespace

void remove_stripes(Sinograms sino, const StripeParams& params) {
  const int size = params.size;
  if (size < 3 || size > kMaxSize || size % 2 == 0) {
    throw Error(
        error_id::Argument, "remove_stripes",
        "size must be odd, 3.." + std::to_string(kMaxSize) + ", got " + std::to_string(size));
  }
  const int rows = static_cast<int>(sino.extent(0));
  const int angles = static_cast<int>(sino.extent(1));
  const int cols = static_cast<int>(sino.extent(2));
  if (angles == 0 || cols == 0) return;
  const int half = size / 2;
  // Per column, its values sorted along the angle axis and where each came from.
  Kokkos::View<Real**, Kokkos::LayoutRight> sorted("beamflow::preprocess::stripe_sorted", cols,
                                                   angles);
  Kokkos::View<int**, Kokkos::LayoutRight> origin("beamflow::preprocess::stripe_origin", cols,
                                                  angles);
  Kokkos::View<Real**, Kokkos::LayoutRight> smooth("beamflow::preprocess::stripe_smooth", cols,
                                                   angles);
  const auto grid = Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>({0, 0}, {cols, angles});
  for (int r = 0; r < rows; ++r) {
    Kokkos::parallel_for(
        "beamflow::preprocess::stripe_sort", Kokkos::RangePolicy<ExecSpace>(0, cols),
        KOKKOS_LAMBDA(int c) {
          for (int a = 0; a < angles; ++a) {
            sorted(c, a) = sino(r, a, c);
            origin(c, a) = a;
          }
          heap_sort(&sorted(c, 0), &origin(c, 0), angles);
        });
    // Along the detector, rank by rank: a stripe is a column whose whole
    // sorted profile is offset, which the median across columns removes.
    Kokkos::parallel_for(
        "beamflow::preprocess::stripe_median", grid, KOKKOS_LAMBDA(int c, int k) {
          Real window[kMaxSize];
          for (int d = -half; d <= half; ++d)
            window[d + half] = sorted(math::reflect(c + d, cols), k);
          smooth(c, k) = math::median_inplace(window, size);
        });
    Kokkos::parallel_for(
        "beamflow::preprocess::stripe_unsort", grid,
        KOKKOS_LAMBDA(int c, int k) { sino(r, origin(c, k), c) = smooth(c, k); });
  }
}

}  // namespace beamflow::kernels
