#pragma once
// Preprocessing of projections [angle][row][column] and sinograms
// [row][angle][column]. Order in a pipeline: reduce_fields -> normalize ->
// remove_zingers -> (paganin) -> minus_log -> remove_stripes -> centre ->
// reconstruct.
#include <cstdint>
#include <string_view>

#include "kernels/common/views.hpp"

namespace beamflow::kernels {

struct FlatDark {
  Image2D flat;  // [row][column], already reduced over the flat fields
  Image2D dark;
};

enum class FieldReduce { Mean, Median };
// "mean" or "median"; anything else throws kernels.argument.
FieldReduce field_reduce_from_name(std::string_view name);

// out(r, c) = mean or median over n of fields(n, r, c), ignoring non-finite
// samples (NaN where a pixel has none). Median of an even count averages the
// two middle values.
void reduce_fields(Kokkos::View<const Real***> fields, FieldReduce reduce, Image2D out);

// proj = (proj - dark) / (flat - dark), in place. A denominator below
// min_value (dead or saturated flat pixel, NaN) is taken as min_value, as
// tomopy.normalize does; a result that is not a finite number >= min_value
// (negative counts, NaN or infinite input) becomes min_value, so minus_log
// sees a strongly absorbing pixel instead of a NaN that would spread through
// a whole slice in the FFT. Throws kernels.preprocess.flat_dark when no pixel
// has flat - dark >= min_value (wrong or swapped fields).
void normalize(Kokkos::View<Real***> proj, const FlatDark& fields, Real min_value = Real(1e-6));

// data = -log(data), in place, with the same rule: values that are not
// finite numbers >= min_value are taken as min_value (-log(1e-6) = 13.8).
void minus_log(Kokkos::View<Real***> data, Real min_value = Real(1e-6));

// normalize -> minus_log -> transpose to sinograms in one pass over the
// projections, bit for bit those three steps: out(r, a, c) = -log of
// normalised proj(a, first_row + r, c), for the out.extent(0) rows from
// first_row (proj may hold rows of context either side). proj is read, not
// written; uint16 projections are converted on the fly (exactly). The
// fields cover every row of proj. For pipelines with no step between
// normalize and minus_log (no zinger removal, no phase retrieval). Same
// errors as normalize, and kernels.shape when out does not fit proj.
void normalize_log_to_sinograms(Kokkos::View<const Real***> proj, const FlatDark& fields, Real min_value,
                                int first_row, Sinograms out);
void normalize_log_to_sinograms(Kokkos::View<const std::uint16_t***> proj, const FlatDark& fields, Real min_value,
                                int first_row, Sinograms out);

// Zinger (bright outlier) removal as tomopy.remove_outlier: each projection
// [angle][row][column] is median filtered over size x size pixels (scipy's
// 'reflect' edges, non-finite neighbours skipped) and pixels exceeding their
// median by more than `threshold` (or not finite) are replaced by it. Run it
// on transmission data, where zingers are bright. size odd, 3..9.
void remove_zingers(Kokkos::View<Real***> proj, Real threshold, int size = 3);

// Ring (stripe) removal on sinograms [row][angle][column]: Vo, Atwood &
// Drakopoulos, "Superior techniques for eliminating ring artifacts in X-ray
// micro-tomography", Optics Express 26(22), 28396 (2018), algorithm 3
// (sorting-based): each column is sorted along the angle axis, the sorted
// image is median filtered across columns (window `size`, odd, 3..127,
// 'reflect' edges), and values return to their angles.
struct StripeParams {
  int size = 21;
};
void remove_stripes(Sinograms sino, const StripeParams& params);

// Single-distance phase retrieval (Paganin et al., J. Microscopy 206(1), 33,
// 2002) on normalised projections [angle][row][column], in place: each
// projection is filtered by 1 / (1 + pi lambda z (delta/beta) |k|^2), with
// edges replicated into padding so the filter does not wrap. Run minus_log
// afterwards for the projected thickness times mu. Units: metres and keV.
struct PaganinParams {
  double pixel_size = 0;       // m, > 0
  double distance = 0;         // sample-detector distance, m, >= 0
  double energy = 0;           // keV, > 0
  double delta_over_beta = 0;  // >= 0
};
void paganin(Kokkos::View<Real***> proj, const PaganinParams& params);
// Rows of context a slab of detector rows needs on each side for paganin()
// to see what it would see in the whole projection, to within the filter's
// decay (< 0.3% of its weight lies further out). Valid parameters only.
int paganin_halo(const PaganinParams& params);

}  // namespace beamflow::kernels
