#pragma once
// log of a float in a form the compiler vectorises, bit for bit the logf
// of glibc 2.28 and later as built for FMA machines (__logf_fma, the code of
// Arm's optimized-routines): x = 2^k z with z near a table point c, then
// log(x) = k ln2 + log(c) + log1p(z/c - 1), the last by a cubic in double.
// The scalar logf is a call that keeps a loop from vectorising; this
// inlines, so the minus-log of a slab runs several values at a time. Error
// below 0.82 ulp (glibc's bound). The table and coefficients are glibc's
// __logf_data (read from Debian 12's libm 2.36); tests check this against
// logf over a sweep of floats.
#include <Kokkos_Core.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace beamflow::kernels::math {

namespace detail {
KOKKOS_INLINE_FUNCTION double logf_invc(int i) {
  static constexpr double t[16] = {
      0x1.661ec79f8f3bep+0, 0x1.571ed4aaf883dp+0, 0x1.49539f0f010b0p+0, 0x1.3c995b0b80385p+0,
      0x1.30d190c8864a5p+0, 0x1.25e227b0b8ea0p+0, 0x1.1bb4a4a1a343fp+0, 0x1.12358f08ae5bap+0,
      0x1.0953f419900a7p+0, 0x1.0000000000000p+0, 0x1.e608cfd9a47acp-1, 0x1.ca4b31f026aa0p-1,
      0x1.b2036576afce6p-1, 0x1.9c2d163a1aa2dp-1, 0x1.886e6037841edp-1, 0x1.767dcf5534862p-1,
  };
  return t[i];
}
KOKKOS_INLINE_FUNCTION double logf_logc(int i) {
  static constexpr double t[16] = {
      -0x1.57bf7808caadep-2, -0x1.2bef0a7c06ddbp-2, -0x1.01eae7f513a67p-2, -0x1.b31d8a68224e9p-3,
      -0x1.6574f0ac07758p-3, -0x1.1aa2bc79c8100p-3, -0x1.a4e76ce8c0e5ep-4, -0x1.1973c5a611cccp-4,
      -0x1.252f438e10c1ep-5, 0x0.0p+0, 0x1.aa5aa5df25984p-5, 0x1.c5e53aa362eb4p-4,
      0x1.526e57720db08p-3, 0x1.bc2860d224770p-3, 0x1.1058bc8a07ee1p-2, 0x1.4043057b6ee09p-2,
  };
  return t[i];
}
}  // namespace detail

// log(x) for x > 0 and finite (subnormals included); zero, negative,
// infinite and NaN inputs are not handled (callers clamp first, as
// kernels/tomo's minus-log rule does).
KOKKOS_INLINE_FUNCTION float log_positive(float x) {
  constexpr double ln2 = 0x1.62e42fefa39efp-1, a0 = -0x1.00ea348b88334p-2, a1 = 0x1.5575b0be00b6ap-2, a2 = -0x1.ffffef20a4123p-2;
  std::uint32_t ix, is;
  const float scaled = x * 0x1p23f;  // a subnormal, scaled into the normal range
  std::memcpy(&ix, &x, sizeof ix);
  std::memcpy(&is, &scaled, sizeof is);
  ix = ix < 0x00800000u ? is - (23u << 23) : ix;
  const std::uint32_t tmp = ix - 0x3f330000u;
  const int i = static_cast<int>((tmp >> 19) & 15u);
  const int k = static_cast<int>(tmp) >> 23;  // arithmetic shift
  const std::uint32_t iz = ix - (tmp & 0xff800000u);
  float zf;
  std::memcpy(&zf, &iz, sizeof zf);
  // The operations of __logf_fma, fused as it fuses them.
  const double r = std::fma(double(zf), detail::logf_invc(i), -1.0);
  const double y0 = std::fma(double(k), ln2, detail::logf_logc(i));
  const double r2 = r * r;
  double y = std::fma(r, a1, a2);
  y = std::fma(r2, a0, y);
  y = std::fma(r2, y, r + y0);
  // glibc returns 0 for x == 1 before all this, for the downward rounding
  // mode; in the default mode the steps give +0 too (table entry 9 is c = 1,
  // log c = 0), and without the test the loop stays branch-free.
  return static_cast<float>(y);
}

}  // namespace beamflow::kernels::math
