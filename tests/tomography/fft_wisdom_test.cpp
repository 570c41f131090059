#include "jobs/tomography/fft_wisdom.hpp"

#include <gtest/gtest.h>

namespace beamflow::jobs {
namespace {

// Two exports of the same plans in FFTW's run-to-run hash-table order.
TEST(FftWisdom, TheSamePlansInAnotherOrderAreTheSameWisdom) {
  const std::string a =
      "(fftw-3.3.10 fftwf_wisdom #x9e7d4dee #xdb14fed1 #x34bf76a4 #xeb6e8fdf\n"
      "  (fftwf_codelet_n2bv_16_avx 0 #x10bdd #x10bdd #x0 #x09828f7b #x31d0c35d #xa617d809 #x4ccb96bd)\n"
      "  (fftwf_dft_r2hc_register 0 #x11bdd #x11bdd #x0 #xa8efe35c #x59342146 #x22620e48 #xa4c92d5f)\n"
      ")\n";
  const std::string b =
      "(fftw-3.3.10 fftwf_wisdom #x9e7d4dee #xdb14fed1 #x34bf76a4 #xeb6e8fdf\n"
      "  (fftwf_dft_r2hc_register 0 #x11bdd #x11bdd #x0 #xa8efe35c #x59342146 #x22620e48 #xa4c92d5f)\n"
      "  (fftwf_codelet_n2bv_16_avx 0 #x10bdd #x10bdd #x0 #x09828f7b #x31d0c35d #xa617d809 #x4ccb96bd)\n"
      ")\n";
  EXPECT_TRUE(same_fft_wisdom(a, b));
  EXPECT_TRUE(same_fft_wisdom(a, a));
  // One plan more (a new shape measured) is news to keep.
  const std::string more = a.substr(0, a.size() - 2) +
                           "  (fftwf_dft_nop_register 0 #x11bdd #x11bdd #x0 #xa29feac3 #x7979daf5 #x34f4e3a5 "
                           "#x8152ab6d)\n)\n";
  EXPECT_FALSE(same_fft_wisdom(a, more));
  EXPECT_FALSE(same_fft_wisdom("", a));
}

}  // namespace
}  // namespace beamflow::jobs
