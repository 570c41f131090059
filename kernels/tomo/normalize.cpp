// Flat/dark reduction, normalisation and minus-log.
#include <cmath>
#include <string>

#include "kernels/common/device_math.hpp"
#include "kernels/common/error.hpp"
#include "kernels/tomo/preprocess.hpp"

namespace beamflow::kernels {
namespace {

// The one rule for values that cannot be logged (see preprocess.hpp).
KOKKOS_INLINE_FUNCTION Real usable(Real v, Real min_value) {
  return (math::isfinite(v) && v >= min_value) ? v : min_value;
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

void normalize(Kokkos::View<Real***> proj, const FlatDark& fields, Real min_value) {
  const int angles = static_cast<int>(proj.extent(0));
  const int rows = static_cast<int>(proj.extent(1));
  const int cols = static_cast<int>(proj.extent(2));
  const auto flat = fields.flat;
  const auto dark = fields.dark;
  if (flat.extent(0) != proj.extent(1) || flat.extent(1) != proj.extent(2) ||
      dark.extent(0) != proj.extent(1) || dark.extent(1) != proj.extent(2)) {
    throw Error(error_id::Shape, "normalize",
                "projections are " + extents(rows, cols) + " but flat is " +
                    extents(flat.extent(0), flat.extent(1)) + " and dark " +
                    extents(dark.extent(0), dark.extent(1)));
  }
  if (!(min_value > 0)) throw Error(error_id::Argument, "normalize", "min_value must be > 0");
  int usable_pixels = 0;
  Kokkos::parallel_reduce(
      "beamflow::preprocess::count_usable",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>({0, 0}, {rows, cols}),
      KOKKOS_LAMBDA(int r, int c, int& count) {
        if (flat(r, c) - dark(r, c) >= min_value) ++count;
      },
      usable_pixels);
  if (rows * cols > 0 && usable_pixels == 0) {
    throw Error(error_id::FlatDark, "normalize",
                "flat - dark is below " + std::to_string(min_value) +
                    " in every pixel (fields swapped or empty?)");
  }
  Kokkos::parallel_for(
      "beamflow::preprocess::normalize",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<3>>({0, 0, 0}, {angles, rows, cols}),
      KOKKOS_LAMBDA(int a, int r, int c) {
        const Real d = dark(r, c);
        const Real denom = usable(flat(r, c) - d, min_value);
        proj(a, r, c) = usable((proj(a, r, c) - d) / denom, min_value);
      });
}

void minus_log(Kokkos::View<Real***> data, Real min_value) {
  if (!(min_value > 0)) throw Error(error_id::Argument, "minus_log", "min_value must be > 0");
  Kokkos::parallel_for(
      "beamflow::preprocess::minus_log",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<3>>(
          {0, 0, 0}, {data.extent(0), data.extent(1), data.extent(2)}),
      KOKKOS_LAMBDA(int i, int j, int k) {
        data(i, j, k) = -math::log(usable(data(i, j, k), min_value));
      });
}

}  // namespace beamflow::kernels
