#pragma once
// Math usable inside kernels on every backend. Kokkos moved its math
// functions from Kokkos::Experimental to Kokkos in 3.7; this is the one place
// that knows.
#include <Kokkos_Core.hpp>

namespace beamflow::kernels::math {

#if KOKKOS_VERSION >= 30700
using Kokkos::ceil;
using Kokkos::cos;
using Kokkos::exp;
using Kokkos::fabs;
using Kokkos::floor;
using Kokkos::isfinite;
using Kokkos::log;
using Kokkos::log1p;
using Kokkos::sin;
using Kokkos::sqrt;
using Kokkos::tanh;
#else
using Kokkos::Experimental::ceil;
using Kokkos::Experimental::cos;
using Kokkos::Experimental::exp;
using Kokkos::Experimental::fabs;
using Kokkos::Experimental::floor;
using Kokkos::Experimental::isfinite;
using Kokkos::Experimental::log;
using Kokkos::Experimental::log1p;
using Kokkos::Experimental::sin;
using Kokkos::Experimental::sqrt;
using Kokkos::Experimental::tanh;
#endif

inline constexpr double pi = 3.14159265358979323846;

// scipy.ndimage's 'reflect' boundary (d c b a | a b c d | d c b a), for
// overhangs up to n.
KOKKOS_INLINE_FUNCTION int reflect(int i, int n) {
  if (i < 0) i = -i - 1;
  if (i >= n) i = 2 * n - i - 1;
  return i < 0 ? 0 : i;
}

// Rearranges a[0..n) so a[k] is the k-th smallest and nothing before it is
// larger (Wirth's selection; iterative, so it runs inside kernels).
template <class T>
KOKKOS_INLINE_FUNCTION T select_kth(T* a, int n, int k) {
  int lo = 0;
  int hi = n - 1;
  while (lo < hi) {
    const T pivot = a[k];
    int i = lo;
    int j = hi;
    do {
      while (a[i] < pivot) ++i;
      while (pivot < a[j]) --j;
      if (i <= j) {
        const T t = a[i];
        a[i] = a[j];
        a[j] = t;
        ++i;
        --j;
      }
    } while (i <= j);
    if (j < k) lo = i;
    if (k < i) hi = j;
  }
  return a[k];
}

// Median of a[0..n) (n >= 1; even n averages the two middle values, as
// numpy does). Reorders a. Values must be comparable (no NaN).
template <class T>
KOKKOS_INLINE_FUNCTION T median_inplace(T* a, int n) {
  const int k = n / 2;
  const T upper = select_kth(a, n, k);
  if (n % 2 == 1) return upper;
  T lower = a[0];
  for (int i = 1; i < k; ++i) lower = a[i] > lower ? a[i] : lower;
  return T(0.5) * (lower + upper);
}

}  // namespace beamflow::kernels::math
