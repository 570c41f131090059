#include "kernels/tomo/preprocess.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/common/log_positive.hpp"
#include "kernels/tomo/phantom.hpp"
#include "test_util.hpp"

namespace beamflow::kernels {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

template <class View>
auto host(const View& v) {
  return Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
}

// A [n][1][k] field stack from per-pixel sample lists.
Kokkos::View<Real***> fields(const std::vector<std::vector<float>>& pixels) {
  const int n = static_cast<int>(pixels[0].size());
  Kokkos::View<Real***> f("fields", n, 1, pixels.size());
  auto h = Kokkos::create_mirror_view(f);
  for (std::size_t c = 0; c < pixels.size(); ++c)
    for (int i = 0; i < n; ++i) h(i, 0, c) = pixels[c][i];
  Kokkos::deep_copy(f, h);
  return f;
}

TEST(Preprocess, ReduceFieldsMeanAndMedianSkipNonFinite) {
  const auto f =
      fields({{1, 2, 3, 10}, {4, kNaN, 2, 6}, {kNaN, kNaN, kNaN, kNaN}, {5, 1, kInf, 3}});
  Image2D out("out", 1, 4);
  reduce_fields(f, FieldReduce::Mean, out);
  auto m = host(out);
  EXPECT_FLOAT_EQ(m(0, 0), 4.0f);
  EXPECT_FLOAT_EQ(m(0, 1), 4.0f);
  EXPECT_TRUE(std::isnan(m(0, 2)));
  EXPECT_FLOAT_EQ(m(0, 3), 3.0f);
  reduce_fields(f, FieldReduce::Median, out);
  m = host(out);
  EXPECT_FLOAT_EQ(m(0, 0), 2.5f);  // even count: mean of the middle two
  EXPECT_FLOAT_EQ(m(0, 1), 4.0f);
  EXPECT_TRUE(std::isnan(m(0, 2)));
  EXPECT_FLOAT_EQ(m(0, 3), 3.0f);
  EXPECT_EQ(field_reduce_from_name("median"), FieldReduce::Median);
  testing::expect_error([] { field_reduce_from_name("max"); }, error_id::Argument,
                        "unknown field reduction 'max' (valid: mean, median)");
  testing::expect_error([&] { reduce_fields(f, FieldReduce::Mean, Image2D("bad", 2, 4)); },
                        error_id::Shape, "reduce_fields: need at least one field and out of 1x4");
}

TEST(Preprocess, MedianOfManySamplesMatchesSorting) {
  std::vector<float> samples;
  for (int i = 0; i < 101; ++i) samples.push_back(float((i * 37) % 101));
  Image2D out("out", 1, 1);
  reduce_fields(fields({samples}), FieldReduce::Median, out);
  EXPECT_FLOAT_EQ(host(out)(0, 0), 50.0f);
}

struct Flats {
  FlatDark fd{Image2D("flat", 1, 5), Image2D("dark", 1, 5)};
  Flats(std::vector<float> flat, std::vector<float> dark) {
    auto f = Kokkos::create_mirror_view(fd.flat);
    auto d = Kokkos::create_mirror_view(fd.dark);
    for (int c = 0; c < 5; ++c) {
      f(0, c) = flat[c];
      d(0, c) = dark[c];
    }
    Kokkos::deep_copy(fd.flat, f);
    Kokkos::deep_copy(fd.dark, d);
  }
};

Kokkos::View<Real***> row(std::vector<float> v) {
  Kokkos::View<Real***> p("p", 1, 1, v.size());
  auto h = Kokkos::create_mirror_view(p);
  for (std::size_t c = 0; c < v.size(); ++c) h(0, 0, c) = v[c];
  Kokkos::deep_copy(p, h);
  return p;
}

// (p - d)/(f - d); denominators below min_value count as min_value; results
// that are negative, NaN or infinite become min_value.
TEST(Preprocess, NormalizeEdgeCases) {
  const Flats f({110, 10, 5, 110, 110}, {10, 10, 10, 10, kNaN});
  auto p = row({60, 10.5f, 7, 5, 60});
  normalize(p, f.fd);
  auto h = host(p);
  EXPECT_FLOAT_EQ(h(0, 0, 0), 0.5f);
  EXPECT_FLOAT_EQ(h(0, 0, 1), 0.5f / 1e-6f);  // dead flat pixel: denominator 1e-6, as TomoPy
  EXPECT_FLOAT_EQ(h(0, 0, 2), 1e-6f);         // negative denominator -> 1e-6, numerator < 0
  EXPECT_FLOAT_EQ(h(0, 0, 3), 1e-6f);         // below dark
  EXPECT_FLOAT_EQ(h(0, 0, 4), 1e-6f);         // NaN dark
  auto q = row({kNaN, kInf, -kInf, 60, 60});
  normalize(q, f.fd, 1e-3f);
  h = host(q);
  for (int c = 0; c < 3; ++c) EXPECT_FLOAT_EQ(h(0, 0, c), 1e-3f) << c;
}

TEST(Preprocess, NormalizeRejectsUnusableFieldsAndShapes) {
  const Flats swapped({10, 10, 10, 10, 10}, {100, 100, 100, 100, 100});
  auto p = row({1, 2, 3, 4, 5});
  testing::expect_error(
      [&] { normalize(p, swapped.fd); }, error_id::FlatDark,
      "normalize: flat - dark is below 0.000001 in every pixel (fields swapped or empty?)");
  testing::expect_error(
      [&] {
        normalize(row({1, 2, 3}), swapped.fd);
      },
      error_id::Shape, "projections are 1x3 but flat is 1x5 and dark 1x5");
  testing::expect_error(
      [&] {
        normalize(p, Flats({2, 2, 2, 2, 2}, {0, 0, 0, 0, 0}).fd, 0);
      },
      error_id::Argument, "min_value must be > 0");
}

TEST(Preprocess, MinusLogEdgeCases) {
  auto p = row({1, std::exp(-2.0f), 0, -1, kNaN, kInf});
  minus_log(p);
  auto h = host(p);
  EXPECT_FLOAT_EQ(h(0, 0, 0), 0.0f);
  EXPECT_NEAR(h(0, 0, 1), 2.0f, 1e-6);
  for (int c = 2; c < 6; ++c) EXPECT_NEAR(h(0, 0, c), -std::log(1e-6), 1e-5) << c;
  testing::expect_error([&] { minus_log(p, -1); }, error_id::Argument,
                        "minus_log: min_value must be > 0");
}

// The fused pass equals normalize -> minus_log -> transpose bit for bit,
// on float and on uint16 projections, from an inner row, with the edge
// values of the two steps (dead, NaN and negative fields; NaN, infinite,
// negative and zero counts).
TEST(Preprocess, FusedNormalizeLogEqualsTheThreeStepsBitForBit) {
  const int A = 7, R = 5, C = 33, first = 2, out_rows = 3;
  Image2D flat("flat", R, C), dark("dark", R, C);
  auto hf = Kokkos::create_mirror_view(flat);
  auto hd = Kokkos::create_mirror_view(dark);
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) {
      hf(r, c) = 900.0f + float((r * 131 + c * 17) % 97);
      hd(r, c) = float((r * 7 + c * 3) % 11);
    }
  hf(2, 3) = 5;      // flat - dark below min_value: dead pixel
  hd(3, 4) = kNaN;   // NaN dark
  hf(2, 5) = 1;      // flat below dark
  hd(2, 5) = 4;
  Kokkos::deep_copy(flat, hf);
  Kokkos::deep_copy(dark, hd);
  const FlatDark fd{flat, dark};
  Kokkos::View<Real***> as_float("proj", A, R, C);
  Kokkos::View<std::uint16_t***> as_u16("proj16", A, R, C);
  auto hp = Kokkos::create_mirror_view(as_float);
  auto hp16 = Kokkos::create_mirror_view(as_u16);
  for (int a = 0; a < A; ++a)
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) {
        hp16(a, r, c) = std::uint16_t((a * 40503u + r * 9973u + c * 6151u) % 65536u);
        hp(a, r, c) = float(hp16(a, r, c)) * 0.0173f;
      }
  hp(0, 2, 0) = kNaN;
  hp(1, 3, 1) = kInf;
  hp(2, 4, 2) = -3;
  hp(3, 2, 6) = 0;
  Kokkos::deep_copy(as_float, hp);
  Kokkos::deep_copy(as_u16, hp16);
  for (const bool u16 : {false, true}) {
    // The three steps on a float copy.
    Kokkos::View<Real***> steps("steps", A, R, C);
    if (u16) {
      auto h = Kokkos::create_mirror_view(steps);
      for (int a = 0; a < A; ++a)
        for (int r = 0; r < R; ++r)
          for (int c = 0; c < C; ++c) h(a, r, c) = float(hp16(a, r, c));
      Kokkos::deep_copy(steps, h);
    } else {
      Kokkos::deep_copy(steps, as_float);
    }
    normalize(steps, fd, 1e-3f);
    minus_log(steps, 1e-3f);
    const auto want = host(steps);
    Sinograms sino("sino", out_rows, A, C);
    if (u16)
      normalize_log_to_sinograms(as_u16, fd, 1e-3f, first, sino);
    else
      normalize_log_to_sinograms(as_float, fd, 1e-3f, first, sino);
    const auto got = host(sino);
    for (int r = 0; r < out_rows; ++r)
      for (int a = 0; a < A; ++a)
        for (int c = 0; c < C; ++c) {
          const float w = want(a, first + r, c), g = got(r, a, c);
          ASSERT_EQ(std::memcmp(&w, &g, sizeof w), 0) << u16 << " " << r << " " << a << " " << c << ": " << w << " vs " << g;
        }
  }
  testing::expect_error([&] { normalize_log_to_sinograms(as_float, fd, 1e-3f, 3, Sinograms("s", 3, A, C)); },
                        error_id::Shape, "sinograms of 3 rows from row 3 x 7x33 do not fit projections of 7 x 5x33");
  testing::expect_error([&] { normalize_log_to_sinograms(as_float, fd, 0, 0, Sinograms("s", 1, A, C)); },
                        error_id::Argument, "normalize_log_to_sinograms: min_value must be > 0");
  const Flats swapped({10, 10, 10, 10, 10}, {100, 100, 100, 100, 100});
  testing::expect_error(
      [&] { normalize_log_to_sinograms(row({1, 2, 3, 4, 5}), swapped.fd, 1e-6f, 0, Sinograms("s", 1, 1, 5)); },
      error_id::FlatDark, "normalize_log_to_sinograms: flat - dark is below 0.000001 in every pixel");
}

// minus_log's logarithm: glibc's logf algorithm inlined. Where the build
// fuses multiply-adds (as glibc's __logf_fma does), bit for bit logf over a
// sweep of every positive finite float's exponent and many mantissas,
// subnormals included; elsewhere within an ulp.
TEST(Preprocess, LogPositiveIsLogf) {
  std::int64_t checked = 0;
  for (std::uint64_t bits = 1; bits < 0x7f800000u; bits += 4093) {
    const auto u = static_cast<std::uint32_t>(bits);
    float x;
    std::memcpy(&x, &u, sizeof x);
    const float want = std::log(x), got = math::log_positive(x);
#ifdef __FMA__
    std::uint32_t w, g;
    std::memcpy(&w, &want, sizeof w);
    std::memcpy(&g, &got, sizeof g);
    ASSERT_EQ(w, g) << std::hexfloat << x << ": " << want << " vs " << got;
#else
    ASSERT_LE(std::abs(want - got), std::abs(std::nextafter(want, 2 * want + 1) - want)) << std::hexfloat << x;
#endif
    ++checked;
  }
  EXPECT_EQ(math::log_positive(1.0f), 0.0f);
  EXPECT_EQ(math::log_positive(std::numeric_limits<float>::denorm_min()), std::log(std::numeric_limits<float>::denorm_min()));
  EXPECT_GT(checked, 500000);
}

#if BEAMFLOW_LOG_POSITIVE_X16
// The 16-lane form (AVX-512 hosts): bit for bit the scalar form in every
// lane, over the same sweep of positive finite floats (subnormals included),
// each vector holding 16 neighbouring values.
TEST(Preprocess, LogPositiveOf16IsTheScalarForm) {
  std::int64_t checked = 0;
  for (std::uint64_t bits = 1; bits + 16 * 97 < 0x7f800000u; bits += 4093) {
    alignas(64) float x[16], got[16];
    for (int j = 0; j < 16; ++j) {
      const auto u = static_cast<std::uint32_t>(bits + std::uint64_t(j) * 97);
      std::memcpy(&x[j], &u, sizeof(float));
    }
    _mm512_store_ps(got, math::log_positive(_mm512_load_ps(x)));
    for (int j = 0; j < 16; ++j) {
      const float want = math::log_positive(x[j]);
      ASSERT_EQ(std::memcmp(&want, &got[j], sizeof want), 0) << std::hexfloat << x[j] << ": " << want << " vs " << got[j];
      ++checked;
    }
  }
  EXPECT_GT(checked, 8000000);
}
#endif

TEST(Preprocess, ZingerIsRemovedAndFeaturesKept) {
  Kokkos::View<Real***> p("p", 2, 16, 16);
  auto h = Kokkos::create_mirror_view(p);
  for (int a = 0; a < 2; ++a)
    for (int r = 0; r < 16; ++r)
      for (int c = 0; c < 16; ++c) h(a, r, c) = 1.0f + 0.01f * c;  // smooth ramp
  h(1, 7, 9) = 5.0f;                                               // zinger
  h(1, 2, 2) = 0.2f;  // dark outlier: zingers are bright, this one stays
  h(0, 0, 0) = kNaN;
  Kokkos::deep_copy(p, h);
  remove_zingers(p, 0.5f, 3);
  auto out = host(p);
  EXPECT_NEAR(out(1, 7, 9), 1.09f, 1e-6);
  EXPECT_FLOAT_EQ(out(1, 2, 2), 0.2f);
  EXPECT_NEAR(out(0, 0, 0), 1.01f, 1e-6);  // NaN: median of its finite (reflected) neighbours
  EXPECT_FLOAT_EQ(out(0, 5, 5), 1.05f);
  testing::expect_error([&] { remove_zingers(p, 0.5f, 4); }, error_id::Argument,
                        "remove_zingers: size must be odd, 3..9, got 4");
  testing::expect_error([&] { remove_zingers(p, -1.0f, 3); }, error_id::Argument,
                        "threshold must be");
}

// Column-wise stripe amplitude: mean over angles of each column minus the
// mean of its two neighbours.
double stripe_at(Sinograms s, int c) {
  auto h = host(s);
  double d = 0;
  for (std::size_t a = 0; a < s.extent(1); ++a)
    d += h(0, a, c) - 0.5 * (h(0, a, c - 1) + h(0, a, c + 1));
  return d / s.extent(1);
}

TEST(Preprocess, StripeRemovalSuppressesAColumnOffset) {
  // A sample filling most of the field of view, as in practice; the stripes
  // sit where the sorted column profiles vary smoothly across columns.
  const int n = 128, angles = 90;
  Sinograms clean("clean", 1, angles, n);
  project_ellipsoids({{0.02, 0.9, 0.8, 2, 0.0, 0, 0, 90, 90, 30}}, testing::uniform_angles(angles),
                     63.5, clean);
  Sinograms s("s", 1, angles, n);
  Kokkos::deep_copy(s, clean);
  auto h = Kokkos::create_mirror_view(s);
  Kokkos::deep_copy(h, s);
  for (int a = 0; a < angles; ++a) {
    h(0, a, 50) += 0.1f;   // a bad pixel's constant offset: a ring
    h(0, a, 75) *= 1.05f;  // a gain error: a ring that follows the data
  }
  Kokkos::deep_copy(s, h);
  const double before50 = stripe_at(s, 50), before75 = stripe_at(s, 75);
  remove_stripes(s, StripeParams{});
  EXPECT_LT(std::abs(stripe_at(s, 50)), 0.1 * std::abs(before50));
  EXPECT_LT(std::abs(stripe_at(s, 75)), 0.2 * std::abs(before75));
  // Elsewhere the sinogram is left nearly alone.
  auto out = host(s);
  auto ref = host(clean);
  double change = 0, peak = 0;
  for (int a = 0; a < angles; ++a)
    for (int c = 0; c < n; ++c) {
      if (c == 50 || c == 75) continue;
      change = std::max(change, std::abs(double(out(0, a, c)) - ref(0, a, c)));
      peak = std::max(peak, double(ref(0, a, c)));
    }
  EXPECT_LT(change, 0.02 * peak);
  testing::expect_error([&] { remove_stripes(s, StripeParams{2}); }, error_id::Argument,
                        "remove_stripes: size must be odd, 3..127, got 2");
}

TEST(Preprocess, PaganinKeepsFlatFieldsAndIntegralsAndBlurs) {
  Kokkos::View<Real***> p("p", 2, 40, 48);
  auto h = Kokkos::create_mirror(p);  // a copy that keeps the input
  Kokkos::deep_copy(h, 0.8f);
  for (int r = 18; r < 22; ++r)
    for (int c = 22; c < 26; ++c) h(1, r, c) = 0.4f;  // an absorbing block
  Kokkos::deep_copy(p, h);
  // a = pi lambda z (delta/beta) / pixel^2 = 390: the kernel decays over
  // sqrt(a) / 2 pi = 3.1 pixels, so ~1% of the spread mass leaves the 40 x 48
  // frame around the block.
  PaganinParams params{1e-6, 0.1, 20.0, 20.0};
  paganin(p, params);
  auto out = host(p);
  EXPECT_NEAR(out(0, 3, 40), 0.8f, 1e-5);  // a uniform field passes unchanged
  double sum = 0, sum_before = 0;
  for (int r = 0; r < 40; ++r)
    for (int c = 0; c < 48; ++c) {
      sum += 0.8 - out(1, r, c);
      sum_before += 0.8 - h(1, r, c);
    }
  EXPECT_NEAR(sum, sum_before, 0.015 * sum_before);  // the filter's DC gain is 1
  EXPECT_GT(out(1, 20, 24), 0.45f);                  // the block's contrast is spread out
  EXPECT_LT(out(1, 20, 28), 0.8f);
  PaganinParams none{1e-6, 0.0, 20.0, 200.0};  // no propagation: nothing to undo
  Kokkos::deep_copy(p, h);
  paganin(p, none);
  EXPECT_NEAR(host(p)(1, 20, 24), 0.4f, 1e-5);
  testing::expect_error(
      [&] { paganin(p, PaganinParams{}); }, error_id::Argument,
      "paganin: need pixel_size > 0 m, distance >= 0 m, energy > 0 keV, delta_over_beta >= 0");
}

}  // namespace
}  // namespace beamflow::kernels
