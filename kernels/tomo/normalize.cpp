// Flat/dark reduction, normalisation and minus-log.
#include <cmath>
#include <string>
#include <type_traits>

#include "kernels/common/device_math.hpp"
#include "kernels/common/error.hpp"
#include "kernels/common/log_positive.hpp"
#include "kernels/tomo/preprocess.hpp"

namespace beamflow::kernels {
namespace {

// The one rule for values that cannot be logged (see preprocess.hpp).
KOKKOS_INLINE_FUNCTION Real usable(Real v, Real min_value) {
  const bool ok = math::isfinite(v) & (v >= min_value);  // no branch: the fused loop vectorises
  return ok ? v : min_value;
}

std::string extents(std::size_t a, std::size_t b) {
  return std::to_string(a) + "x" + std::to_string(b);
}

}  // namespace

FieldReduce field_reduce_from_name(std::string_view name) {
  if (name == "mean") return FieldReduce::Mean;
  if (name == "median") return FieldReduce::Median;
  throw Error(error_id::Argument, "field_reduce_from_name",
              "unknown field reduction '" + std::string(name) + "' (valid: mean, median)");
}

void reduce_fields(Kokkos::View<const Real***> fields, FieldReduce reduce, Image2D out) {
  const int n = static_cast<int>(fields.extent(0));
  const int rows = static_cast<int>(fields.extent(1));
  const int cols = static_cast<int>(fields.extent(2));
  if (n == 0 || out.extent(0) != fields.extent(1) || out.extent(1) != fields.extent(2)) {
    throw Error(error_id::Shape, "reduce_fields",
                "need at least one field and out of " + extents(rows, cols) + ", got " +
                    std::to_string(n) + " fields and out of " +
                    extents(out.extent(0), out.extent(1)));
  }
  const auto pixels = Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>({0, 0}, {rows, cols});
  if (reduce == FieldReduce::Mean) {
    Kokkos::parallel_for(
        "beamflow::preprocess::mean_fields", pixels, KOKKOS_LAMBDA(int r, int c) {
          double sum = 0;
          int count = 0;
          for (int i = 0; i < n; ++i) {
            const Real v = fields(i, r, c);
            if (math::isfinite(v)) {
              sum += v;
              ++count;
            }
          }
          out(r, c) = count ? Real(sum / count) : Real(NAN);
        });
    return;
  }
  // Median: each pixel's finite samples gathered into its own workspace row.
  Kokkos::View<Real***, Kokkos::LayoutRight> work("beamflow::preprocess::median_work", rows, cols,
                                                  n);
  Kokkos::parallel_for(
      "beamflow::preprocess::median_fields", pixels, KOKKOS_LAMBDA(int r, int c) {
        Real* values = &work(r, c, 0);
        int count = 0;
        for (int i = 0; i < n; ++i) {
          const Real v = fields(i, r, c);
          if (math::isfinite(v)) values[count++] = v;
        }
        out(r, c) = count ? math::median_inplace(values, count) : Real(NAN);
      });
}

namespace {

// normalize's checks: fields of proj's rows x columns, min_value > 0, and
// at least one pixel with flat - dark >= min_value.
void check_fields(const char* where, std::size_t rows, std::size_t cols, const FlatDark& fields,
                  Real min_value) {
  const auto flat = fields.flat;
  const auto dark = fields.dark;
  if (flat.extent(0) != rows || flat.extent(1) != cols || dark.extent(0) != rows || dark.extent(1) != cols) {
    throw Error(error_id::Shape, where,
                "projections are " + extents(rows, cols) + " but flat is " +
                    extents(flat.extent(0), flat.extent(1)) + " and dark " +
                    extents(dark.extent(0), dark.extent(1)));
  }
  if (!(min_value > 0)) throw Error(error_id::Argument, where, "min_value must be > 0");
  int usable_pixels = 0;
  Kokkos::parallel_reduce(
      "beamflow::preprocess::count_usable",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>({0, 0}, {int(rows), int(cols)}),
      KOKKOS_LAMBDA(int r, int c, int& count) {
        if (flat(r, c) - dark(r, c) >= min_value) ++count;
      },
      usable_pixels);
  if (rows * cols > 0 && usable_pixels == 0) {
    throw Error(error_id::FlatDark, where,
                "flat - dark is below " + std::to_string(min_value) +
                    " in every pixel (fields swapped or empty?)");
  }
}

// The one normalisation of a pixel (see preprocess.hpp).
KOKKOS_INLINE_FUNCTION Real normalized(Real p, Real flat, Real dark, Real min_value) {
  return usable((p - dark) / usable(flat - dark, min_value), min_value);
}

// One line of the fused pass: o[c] = -log of the normalised p[c].
template <class In>
KOKKOS_INLINE_FUNCTION Real minus_log_normalized(In p, Real flat, Real dark, Real min_value) {
  return -math::log_positive(usable(normalized(Real(p), flat, dark, min_value), min_value));
}

#if BEAMFLOW_LOG_POSITIVE_X16
static_assert(std::is_same_v<Real, float>, "the 16-column form is written for float");
// The same for 16 columns at once (host, AVX-512): usable, normalized and
// minus_log_normalized above, lane by lane, so the same bits; the fused
// pass's lines run through this, the last columns of a line (fewer than 16)
// through the scalar form.
inline __m512 usable(__m512 v, __m512 min_value) {
  const __m512i magnitude = _mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(0x7fffffff));
  const __mmask16 ok = _mm512_cmplt_epu32_mask(magnitude, _mm512_set1_epi32(0x7f800000)) &  // finite
                       _mm512_cmp_ps_mask(v, min_value, _CMP_GE_OQ);                       // false for NaN
  return _mm512_mask_blend_ps(ok, min_value, v);
}
inline __m512 load16(const float* p) { return _mm512_loadu_ps(p); }
inline __m512 load16(const std::uint16_t* p) {  // exact: every uint16 is a float
  return _mm512_cvtepi32_ps(_mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))));
}
// Columns [0, cols) of one line; returns how many it wrote (whole groups of 16).
template <class In>
int minus_log_normalized_x16(const In* p, const Real* flat, const Real* dark, Real* out, int cols, Real min_value) {
  const __m512 m = _mm512_set1_ps(min_value);
  const __m512i sign = _mm512_set1_epi32(static_cast<int>(0x80000000u));
  int c = 0;
  for (; c + 16 <= cols; c += 16) {
    const __m512 f = _mm512_loadu_ps(flat + c), d = _mm512_loadu_ps(dark + c);
    const __m512 n = usable(_mm512_div_ps(_mm512_sub_ps(load16(p + c), d), usable(_mm512_sub_ps(f, d), m)), m);
    const __m512 log = math::log_positive(usable(n, m));
    _mm512_storeu_ps(out + c, _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(log), sign)));  // -log
  }
  return c;
}
#endif

template <class In>
void fused_to_sinograms(Kokkos::View<const In***> proj, const FlatDark& fields, Real min_value, int first_row,
                        Sinograms out) {
  const int angles = static_cast<int>(proj.extent(0));
  const int rows = static_cast<int>(out.extent(0));
  const int cols = static_cast<int>(proj.extent(2));
  if (out.extent(1) != proj.extent(0) || out.extent(2) != proj.extent(2) || first_row < 0 ||
      std::size_t(first_row) + out.extent(0) > proj.extent(1)) {
    throw Error(error_id::Shape, "normalize_log_to_sinograms",
                "sinograms of " + std::to_string(out.extent(0)) + " rows from row " + std::to_string(first_row) +
                    " x " + extents(out.extent(1), out.extent(2)) + " do not fit projections of " +
                    std::to_string(proj.extent(0)) + " x " + extents(proj.extent(1), proj.extent(2)));
  }
  check_fields("normalize_log_to_sinograms", proj.extent(1), proj.extent(2), fields, min_value);
  const auto flat = fields.flat;
  const auto dark = fields.dark;
  // One (row, angle) line of columns at a time. Where columns are
  // contiguous (host layouts), through plain pointers held in registers: 16
  // columns at a time where the host has AVX-512 (above), else a loop the
  // compiler vectorises, log included (log_positive inlines where logf is a
  // call); through the views elsewhere.
  const bool unit = proj.stride(2) == 1 && out.stride(2) == 1 && flat.stride(1) == 1 && dark.stride(1) == 1;
  Kokkos::parallel_for(
      "beamflow::preprocess::normalize_log_to_sinograms", Kokkos::RangePolicy<ExecSpace>(0, rows * angles),
      KOKKOS_LAMBDA(int line) {
        const int r = line / angles, a = line % angles, in_row = first_row + r;
        if (unit) {
          const In* const p = &proj(a, in_row, 0);
          const Real* const f = &flat(in_row, 0);
          const Real* const d = &dark(in_row, 0);
          Real* const o = &out(r, a, 0);
          int c = 0;
#if BEAMFLOW_LOG_POSITIVE_X16
          c = minus_log_normalized_x16(p, f, d, o, cols, min_value);
#endif
#if defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
#pragma GCC ivdep
#endif
          for (; c < cols; ++c) o[c] = minus_log_normalized(p[c], f[c], d[c], min_value);
        } else {
          for (int c = 0; c < cols; ++c)
            out(r, a, c) = minus_log_normalized(proj(a, in_row, c), flat(in_row, c), dark(in_row, c), min_value);
        }
      });
}

}  // namespace

void normalize(Kokkos::View<Real***> proj, const FlatDark& fields, Real min_value) {
  const int angles = static_cast<int>(proj.extent(0));
  const int rows = static_cast<int>(proj.extent(1));
  const int cols = static_cast<int>(proj.extent(2));
  check_fields("normalize", proj.extent(1), proj.extent(2), fields, min_value);
  const auto flat = fields.flat;
  const auto dark = fields.dark;
  Kokkos::parallel_for(
      "beamflow::preprocess::normalize",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<3>>({0, 0, 0}, {angles, rows, cols}),
      KOKKOS_LAMBDA(int a, int r, int c) { proj(a, r, c) = normalized(proj(a, r, c), flat(r, c), dark(r, c), min_value); });
}

void normalize_log_to_sinograms(Kokkos::View<const Real***> proj, const FlatDark& fields, Real min_value,
                                int first_row, Sinograms out) {
  fused_to_sinograms(proj, fields, min_value, first_row, out);
}

void normalize_log_to_sinograms(Kokkos::View<const std::uint16_t***> proj, const FlatDark& fields, Real min_value,
                                int first_row, Sinograms out) {
  fused_to_sinograms(proj, fields, min_value, first_row, out);
}

void minus_log(Kokkos::View<Real***> data, Real min_value) {
  if (!(min_value > 0)) throw Error(error_id::Argument, "minus_log", "min_value must be > 0");
  Kokkos::parallel_for(
      "beamflow::preprocess::minus_log",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<3>>(
          {0, 0, 0}, {data.extent(0), data.extent(1), data.extent(2)}),
      KOKKOS_LAMBDA(int i, int j, int k) {
        data(i, j, k) = -math::log_positive(usable(data(i, j, k), min_value));
      });
}

}  // namespace beamflow::kernels
