// Flat/dark reduction, normalisation and minus-log.
#include <cmath>
#include <string>

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
  // contiguous (host layouts), through plain pointers held in registers: a
  // loop the compiler vectorises, log included (log_positive inlines where
  // logf is a call); through the views elsewhere.
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
#if defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
#pragma GCC ivdep
#endif
          for (int c = 0; c < cols; ++c)
            o[c] = -math::log_positive(usable(normalized(Real(p[c]), f[c], d[c], min_value), min_value));
        } else {
          for (int c = 0; c < cols; ++c)
            out(r, a, c) = -math::log_positive(
                usable(normalized(Real(proj(a, in_row, c)), flat(in_row, c), dark(in_row, c), min_value), min_value));
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
