#include "kernels/common/fft.hpp"

#include <gtest/gtest.h>

#include <complex>
#include <vector>

#include "test_util.hpp"

namespace beamflow::kernels {
namespace {

std::vector<fft::Complex> signal(int n) {
  std::vector<fft::Complex> v(n);
  for (int i = 0; i < n; ++i) v[i] = {float(std::sin(0.3 * i) + 0.1 * i), float(std::cos(1.7 * i))};
  return v;
}

TEST(Fft, ForwardMatchesDirectDftInAndOutOfPlace) {
  const int n = 24;
  const auto x = signal(n);
  fft::Layout l;
  l.kind = fft::Kind::Forward;
  l.n = {n, 1};
  std::vector<fft::Complex> out(n), in_place = x, in = x;
  fft::execute(l, in.data(), out.data());
  fft::execute(l, in_place.data(), in_place.data());
  for (int k = 0; k < n; ++k) {
    std::complex<double> ref = 0;
    for (int j = 0; j < n; ++j)
      ref += std::complex<double>(x[j]) * std::polar(1.0, -2 * testing::kPi * j * k / n);
    EXPECT_NEAR(out[k].real(), ref.real(), 1e-4);
    EXPECT_NEAR(out[k].imag(), ref.imag(), 1e-4);
    EXPECT_NEAR(in_place[k].real(), ref.real(), 1e-4);
  }
}

TEST(Fft, RealRoundTripIn2DOnViewsAndUnalignedArrays) {
  const int rows = 6, cols = 10;
  Kokkos::View<float**, Kokkos::LayoutRight> a("a", rows, cols), back("back", rows, cols);
  Kokkos::View<Kokkos::complex<float>**, Kokkos::LayoutRight> s("s", rows, cols / 2 + 1);
  auto h = Kokkos::create_mirror_view(a);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) h(r, c) = float(r * 3 - c + 0.5 * r * c);
  Kokkos::deep_copy(a, h);
  fft::Layout f;
  f.kind = fft::Kind::RealToComplex;
  f.rank = 2;
  f.n = {rows, cols};
  fft::Layout b = f;
  b.kind = fft::Kind::ComplexToReal;
  fft::execute(f, a, s);
  auto hs = Kokkos::create_mirror(s);  // a real copy: c2r destroys s
  Kokkos::deep_copy(hs, s);
  fft::execute(b, s, back);
  auto hb = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), back);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) EXPECT_NEAR(hb(r, c) / (rows * cols), h(r, c), 1e-4);

  // One float off FFTW's alignment: planned separately, same answer.
  std::vector<float> buffer(rows * cols + 1);
  for (int i = 0; i < rows * cols; ++i) buffer[i + 1] = h.data()[i];
  std::vector<fft::Complex> spectrum(rows * (cols / 2 + 2));
  fft::execute(f, buffer.data() + 1,
               reinterpret_cast<fft::Complex*>(reinterpret_cast<float*>(spectrum.data()) + 2));
  for (int i = 0; i < rows * (cols / 2 + 1); ++i) {
    const fft::Complex v =
        reinterpret_cast<fft::Complex*>(reinterpret_cast<float*>(spectrum.data()) + 2)[i];
    EXPECT_NEAR(v.real(), hs.data()[i].real(), 1e-3);
    EXPECT_NEAR(v.imag(), hs.data()[i].imag(), 1e-3);
  }
}

TEST(Fft, PlansAreMadeOncePerLayout) {
  fft::Layout l;
  l.kind = fft::Kind::Backward;
  l.n = {40, 1};
  l.howmany = 3;
  std::vector<fft::Complex> a(120), b(120);
  fft::execute(l, a.data(), b.data());
  const std::size_t after_first = fft::cached_plans();
  for (int i = 0; i < 5; ++i) fft::execute(l, a.data(), b.data());
  EXPECT_EQ(fft::cached_plans(), after_first);
  EXPECT_FALSE(fft::export_wisdom().empty());
  EXPECT_TRUE(fft::import_wisdom(fft::export_wisdom()));
}

TEST(Fft, GoodSizeHasOnlySmallPrimeFactors) {
  EXPECT_EQ(fft::good_size(1), 1);
  EXPECT_EQ(fft::good_size(7), 8);
  EXPECT_EQ(fft::good_size(97), 100);
  EXPECT_EQ(fft::good_size(769), 800);
}

TEST(Fft, MismatchedKindAndBadLayoutAreErrors) {
  fft::Layout l;
  l.kind = fft::Kind::RealToComplex;
  l.n = {8, 1};
  std::vector<fft::Complex> a(8), b(8);
  testing::expect_error([&] { fft::execute(l, a.data(), b.data()); }, error_id::Argument,
                        "fft: transform kind does not match the array types");
  fft::Layout bad;
  bad.kind = fft::Kind::Forward;
  bad.n = {0, 1};
  testing::expect_error([&] { fft::execute(bad, a.data(), b.data()); }, error_id::Argument,
                        "invalid transform layout");
}

TEST(Fft, WisdomOnlyRefusesToPlanUnknownShapes) {
  const fft::Effort before = fft::effort();
  fft::set_effort(fft::Effort::WisdomOnly);
  fft::Layout l;
  l.kind = fft::Kind::Forward;
  l.n = {1237, 1};
  l.howmany = 3;
  std::vector<fft::Complex> a(3 * 1237), b(3 * 1237);
  testing::expect_error(
      [&] { fft::execute(l, a.data(), b.data()); }, error_id::Fft,
      "fft: FFTW could not plan a transform of 1237x1 (rank 1, batch 3); no wisdom "
      "for it and effort is wisdom-only");
  fft::set_effort(before);
  fft::execute(l, a.data(), b.data());  // plans normally again
}

}  // namespace
}  // namespace beamflow::kernels
