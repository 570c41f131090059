#pragma once
// Reconstruction filters.
//
// The windows are TomoPy's (libtomo/gridrec/filters.c), in its variable x =
// frequency in cycles per pixel, 0 <= x <= 1/2. TomoPy multiplies them by the
// sampled ramp |2x|; we multiply them by the band-limited ramp of Kak & Slaney
// ("Principles of Computerized Tomographic Imaging", ch. 3, eq. 61), i.e. the
// DFT of h[0] = 1/4, h[odd n] = -1/(pi n)^2, which equals |x| between the
// samples' frequencies but keeps the small DC term that a zero-padded,
// finite-length convolution needs (a sampled |x| loses it and shifts the
// reconstruction's mean, the offset scikit-image's iradon fixes the same way).
//
// Window parameters follow TomoPy's filter_par = [cutoff, order] with two
// exceptions: hann and hamming use cutoff 1.0 (their textbook form, zero or
// 0.08 at Nyquist). TomoPy's default 0.5 makes them periodic in [0, 1/2]
// (zero at x = 1/4, back to one at Nyquist; tomopy issue #453).
#include <string>
#include <string_view>
#include <vector>

#include "kernels/common/views.hpp"

namespace beamflow::kernels {

enum class Filter { Ramp, Shepp, Cosine, Hann, Hamming, Parzen, Butterworth, None };

// Accepts "ramp" (alias "ramlak", TomoPy's name), "shepp", "cosine", "hann",
// "hamming", "parzen", "butterworth", "none"; anything else throws
// kernels.filter.unknown naming the valid ones.
Filter filter_from_name(std::string_view name);
std::string_view filter_name(Filter filter);

// TomoPy's filter value at x (cycles/pixel): |2x| * window(x); none is 1.
double tomopy_filter(Filter filter, double x);
// The window alone (1 for ramp and none).
double filter_window(Filter filter, double x);

// Length rows of `width` columns are zero-padded to before filtering: the next
// power of two >= pad_factor * width (at least 16). pad_factor >= 1.
int padded_length(int width, int pad_factor);

// The real response applied to bins 0..padded/2 of a row padded to `padded`:
// band-limited ramp times window, scaled so that back-projecting with weight
// pi/angles reconstructs attenuation per pixel; none is 1 (plain
// back-projection). No 1/padded factor.
std::vector<double> filter_response(Filter filter, int padded);

// Filters every row of every sinogram in place ([row][angle][column]), with
// zero padding to padded_length(columns, pad_factor).
void filter_sinograms(Sinograms sino, Filter filter, int pad_factor);

}  // namespace beamflow::kernels
