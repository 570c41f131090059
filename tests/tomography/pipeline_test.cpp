// The read-slab and preprocessing step: values through flat/dark
// normalisation and minus log, transposed to sinograms, on each rank's rows.
#include <gtest/gtest.h>

#include <Kokkos_Core.hpp>
#include <cmath>

#include "jobs/sinogram_pipeline.hpp"
#include "tomo_fixture.hpp"

namespace beamflow::jobs {
namespace {

using testing::world;

double expected(std::int64_t a, std::int64_t r, std::int64_t c) {
  return -std::log((testing::dx_value(a, r, c) - 10.0) / (1000.0 - 10.0));
}

TEST(SinogramPipeline, NormalisesTakesTheLogAndTransposes) {
  testing::ScratchDir dir;
  if (world().is_root()) testing::write_dx(dir / "in.h5", {});
  world().barrier();
  const DxInput in(dir / "in.h5", {}, world().get());
  SinogramPipeline pipeline(in, {});
  const RowRange mine = block_of(5, world().size(), world().rank());
  if (mine.empty()) return;
  const auto sino = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), pipeline.load(mine));
  ASSERT_EQ(sino.extent(0), std::size_t(mine.size()));
  ASSERT_EQ(sino.extent(1), 6u);
  ASSERT_EQ(sino.extent(2), 8u);
  for (std::int64_t r = 0; r < mine.size(); ++r)
    for (std::int64_t a = 0; a < 6; ++a)
      for (std::int64_t c = 0; c < 8; ++c)
        ASSERT_NEAR(sino(r, a, c), expected(a, mine.begin + r, c), 1e-5) << r << " " << a << " " << c;
  const auto proj =
      Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), pipeline.load_projection(4, mine));
  for (std::int64_t r = 0; r < mine.size(); ++r)
    for (std::int64_t c = 0; c < 8; ++c) EXPECT_NEAR(proj(r, c), expected(4, mine.begin + r, c), 1e-5);
  const auto theta = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), pipeline.angles());
  EXPECT_NEAR(theta(2), 60 * M_PI / 180, 1e-6);
}

TEST(SinogramPipeline, WithoutFieldsTheDataAreTransmission) {
  testing::ScratchDir dir;
  if (world().is_root())
    testing::write_dx(dir / "in.h5", {.uint16 = false, .with_flat = false, .with_dark = false});
  world().barrier();
  const DxInput in(dir / "in.h5", {}, world().get());
  SinogramPipeline pipeline(in, {});
  const auto sino = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), pipeline.load({1, 2}));
  // Values above 1 are transmission above 1: -log is negative, not clamped.
  EXPECT_NEAR(sino(0, 0, 0), -std::log(testing::dx_value(0, 1, 0)), 1e-4);
}

TEST(SinogramPipeline, OptionsAreRecordedForTheOutput) {
  PreprocessOptions o;
  o.zinger_threshold = 0.5f;
  o.stripes = kernels::StripeParams{11};
  const Json j = o.to_json();
  EXPECT_EQ(j["field_reduce"], "mean");
  EXPECT_EQ(j["stripes"]["size"], 11);
  EXPECT_TRUE(j["paganin"].is_null());
}

}  // namespace
}  // namespace beamflow::jobs
