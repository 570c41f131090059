#include "kernels/tomo/filters.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "test_util.hpp"

namespace beamflow::kernels {
namespace {

using testing::kPi;

TEST(Filters, NamesRoundTripAndAliases) {
  for (Filter f : {Filter::Ramp, Filter::Shepp, Filter::Cosine, Filter::Hann, Filter::Hamming,
                   Filter::Parzen, Filter::Butterworth, Filter::None}) {
    EXPECT_EQ(filter_from_name(filter_name(f)), f);
  }
  EXPECT_EQ(filter_from_name("ramlak"), Filter::Ramp);  // TomoPy's name
}

TEST(Filters, UnknownNameListsTheValidOnes) {
  testing::expect_error([] { filter_from_name("hanning"); }, error_id::UnknownFilter,
                        "filter_from_name: unknown filter 'hanning' (valid: ramp, ramlak, shepp, "
                        "cosine, hann, hamming, parzen, butterworth, none)");
}

// TomoPy's libtomo/gridrec/filters.c, written out independently, with its
// filter_par = [cutoff, order] = [0.5, 8] except hann/hamming at cutoff 1.
TEST(Filters, MatchTomoPyFormulasAtSeveralFrequencies) {
  for (double x : {0.05, 0.1, 0.25, 0.4, 0.49}) {
    const double ramp = 2 * x;
    EXPECT_NEAR(tomopy_filter(Filter::Ramp, x), ramp, 1e-12);
    EXPECT_NEAR(tomopy_filter(Filter::Shepp, x), ramp * std::sin(kPi * x) / (kPi * x), 1e-12);
    EXPECT_NEAR(tomopy_filter(Filter::Cosine, x), ramp * std::cos(kPi * x), 1e-12);
    EXPECT_NEAR(tomopy_filter(Filter::Hann, x), ramp * 0.5 * (1 + std::cos(2 * kPi * x / 1.0)),
                1e-12);
    EXPECT_NEAR(tomopy_filter(Filter::Hamming, x), ramp * (0.54 + 0.46 * std::cos(2 * kPi * x)),
                1e-12);
    EXPECT_NEAR(tomopy_filter(Filter::Parzen, x), ramp * std::pow(1 - x / 0.5, 3), 1e-12);
    EXPECT_NEAR(tomopy_filter(Filter::Butterworth, x), ramp / (1 + std::pow(x / 0.5, 16)), 1e-12);
    EXPECT_EQ(tomopy_filter(Filter::None, x), 1.0);
  }
  // Textbook end points: Hann vanishes at Nyquist, Hamming keeps 0.08.
  EXPECT_NEAR(filter_window(Filter::Hann, 0.5), 0.0, 1e-12);
  EXPECT_NEAR(filter_window(Filter::Hamming, 0.5), 0.08, 1e-12);
  EXPECT_NEAR(filter_window(Filter::Shepp, 0.0), 1.0, 1e-12);
}

TEST(Filters, ResponseIsBandLimitedRampTimesWindow) {
  const int padded = 256;
  for (Filter f : {Filter::Ramp, Filter::Shepp, Filter::Hann, Filter::Butterworth}) {
    const std::vector<double> r = filter_response(f, padded);
    ASSERT_EQ(r.size(), std::size_t(padded / 2 + 1));
    for (int k : {16, 40, 64, 100}) {
      const double x = double(k) / padded;
      // tomopy_filter is |2x| window; ours is |x| window (weights pi/angles).
      EXPECT_NEAR(r[k], 0.5 * tomopy_filter(f, x), 2e-3 * x) << filter_name(f) << " k=" << k;
    }
    // The DC term a sampled |x| loses: positive and below one bin's ramp.
    EXPECT_GT(r[0], 0.0);
    EXPECT_LT(r[0], 1.0 / padded);
  }
  for (double v : filter_response(Filter::None, padded)) EXPECT_EQ(v, 1.0);
}

TEST(Filters, PaddedLengthIsNextPowerOfTwo) {
  EXPECT_EQ(padded_length(1, 1), 16);
  EXPECT_EQ(padded_length(100, 1), 128);
  EXPECT_EQ(padded_length(100, 2), 256);
  EXPECT_EQ(padded_length(512, 2), 1024);
  testing::expect_error([] { padded_length(0, 2); }, error_id::Argument,
                        "width and pad factor must be >= 1 (got width 0, pad 2)");
  testing::expect_error([] { padded_length(10, 0); }, error_id::Argument, "pad 0");
}

// With padding >= 2 W the filtering is a linear convolution, so a ramp-filtered
// impulse is Kak & Slaney's kernel: 1/4, -1/(pi n)^2 at odd n, 0 at even n.
TEST(Filters, RampFilteredImpulseIsKakSlaneyKernel) {
  const int w = 64, c0 = 30;
  Sinograms sino("sino", 1, 2, w);
  auto h = Kokkos::create_mirror_view(sino);
  Kokkos::deep_copy(h, 0.0f);
  h(0, 0, c0) = 1.0f;
  Kokkos::deep_copy(sino, h);
  filter_sinograms(sino, Filter::Ramp, 2);
  Kokkos::deep_copy(h, sino);
  EXPECT_NEAR(h(0, 0, c0), 0.25, 1e-6);
  for (int n = 1; n < 20; ++n) {
    const double expected = n % 2 ? -1.0 / (kPi * kPi * n * n) : 0.0;
    EXPECT_NEAR(h(0, 0, c0 + n), expected, 1e-6) << n;
    EXPECT_NEAR(h(0, 0, c0 - n), expected, 1e-6) << n;
  }
  for (int c = 0; c < w; ++c) EXPECT_EQ(h(0, 1, c), 0.0f);  // an empty row stays empty
}

}  // namespace
}  // namespace beamflow::kernels
