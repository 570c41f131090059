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
//
// Where the host has AVX-512 a second form takes 16 floats at once with the
// same operations lane by lane, so the same bits: the compiler vectorises
// the scalar form too, but its two table look-ups become four gathers per 16
// values, which were most of the fused minus-log's time (perf, 2026-12-07);
// here they are register permutes (the 16-entry tables fit two registers).
#include <Kokkos_Core.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__AVX512F__) && !defined(__CUDACC__) && !defined(__HIPCC__) && !defined(__SYCL_DEVICE_ONLY__)
// GCC 12 warns of its own intrinsics' undefined start values (GCC bug
// 105593, fixed in 13) wherever they inline: silenced for its header only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#else
#include <immintrin.h>
#endif
#define BEAMFLOW_LOG_POSITIVE_X16 1
#else
#define BEAMFLOW_LOG_POSITIVE_X16 0
#endif

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
// log1p(r) ~ r + a2 r^2 + a1 r^3 + a0 r^4, and ln 2.
inline constexpr double kLn2 = 0x1.62e42fefa39efp-1, kA0 = -0x1.00ea348b88334p-2, kA1 = 0x1.5575b0be00b6ap-2,
                        kA2 = -0x1.ffffef20a4123p-2;
}  // namespace detail

// log(x) for x > 0 and finite (subnormals included); zero, negative,
// infinite and NaN inputs are not handled (callers clamp first, as
// kernels/tomo's minus-log rule does).
KOKKOS_INLINE_FUNCTION float log_positive(float x) {
  using detail::kA0, detail::kA1, detail::kA2, detail::kLn2;
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
  const double y0 = std::fma(double(k), kLn2, detail::logf_logc(i));
  const double r2 = r * r;
  double y = std::fma(r, kA1, kA2);
  y = std::fma(r2, kA0, y);
  y = std::fma(r2, y, r + y0);
  // glibc returns 0 for x == 1 before all this, for the downward rounding
  // mode; in the default mode the steps give +0 too (table entry 9 is c = 1,
  // log c = 0), and without the test the loop stays branch-free.
  return static_cast<float>(y);
}

#if BEAMFLOW_LOG_POSITIVE_X16
// log_positive of each of 16 floats (host only): the scalar form's steps,
// lane by lane, the doubles in two halves of 8.
inline __m512 log_positive(__m512 x) {
  using detail::kA0, detail::kA1, detail::kA2, detail::kLn2;
  __m512i ix = _mm512_castps_si512(x);
  const __m512i is = _mm512_sub_epi32(_mm512_castps_si512(_mm512_mul_ps(x, _mm512_set1_ps(0x1p23f))),
                                      _mm512_set1_epi32(23 << 23));
  ix = _mm512_mask_blend_epi32(_mm512_cmplt_epu32_mask(ix, _mm512_set1_epi32(0x00800000)), ix, is);
  const __m512i tmp = _mm512_sub_epi32(ix, _mm512_set1_epi32(0x3f330000));
  const __m512i i = _mm512_and_si512(_mm512_srli_epi32(tmp, 19), _mm512_set1_epi32(15));
  const __m512i k = _mm512_srai_epi32(tmp, 23);
  const __m512i iz = _mm512_sub_epi32(ix, _mm512_and_si512(tmp, _mm512_set1_epi32(static_cast<int>(0xff800000u))));
  // The scalar form's tables, read through it: one table, two forms.
  double invc[16], logc[16];
  for (int j = 0; j < 16; ++j) {
    invc[j] = detail::logf_invc(j);
    logc[j] = detail::logf_logc(j);
  }
  const __m512d invc0 = _mm512_loadu_pd(invc), invc1 = _mm512_loadu_pd(invc + 8);
  const __m512d logc0 = _mm512_loadu_pd(logc), logc1 = _mm512_loadu_pd(logc + 8);
  __m256 half[2];
  for (int h = 0; h < 2; ++h) {
    const __m256i ih = h ? _mm512_extracti64x4_epi64(i, 1) : _mm512_castsi512_si256(i);
    const __m256i kh = h ? _mm512_extracti64x4_epi64(k, 1) : _mm512_castsi512_si256(k);
    const __m256i zh = h ? _mm512_extracti64x4_epi64(iz, 1) : _mm512_castsi512_si256(iz);
    const __m512i index = _mm512_cvtepi32_epi64(ih);  // 0..15: bit 3 picks the table's upper register
    const __m512d r = _mm512_fmadd_pd(_mm512_cvtps_pd(_mm256_castsi256_ps(zh)),
                                      _mm512_permutex2var_pd(invc0, index, invc1), _mm512_set1_pd(-1.0));
    const __m512d y0 =
        _mm512_fmadd_pd(_mm512_cvtepi32_pd(kh), _mm512_set1_pd(kLn2), _mm512_permutex2var_pd(logc0, index, logc1));
    const __m512d r2 = _mm512_mul_pd(r, r);
    __m512d y = _mm512_fmadd_pd(r, _mm512_set1_pd(kA1), _mm512_set1_pd(kA2));
    y = _mm512_fmadd_pd(r2, _mm512_set1_pd(kA0), y);
    y = _mm512_fmadd_pd(r2, y, _mm512_add_pd(r, y0));
    half[h] = _mm512_cvtpd_ps(y);
  }
  return _mm512_insertf32x8(_mm512_castps256_ps512(half[0]), half[1], 1);
}
#endif

}  // namespace beamflow::kernels::math
