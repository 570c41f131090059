// The read-slab and preprocessing step: values through flat/dark
// normalisation and minus log, transposed to sinograms, on each rank's rows.
#include <gtest/gtest.h>

#include <Kokkos_Core.hpp>
#include <cmath>
#include <cstdint>

#include "../support/smaps.hpp"
#include "jobs/tomography/sinogram_pipeline.hpp"
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
  const parallel::RowRange mine = parallel::block_of(5, world().size(), world().rank());
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

// A reconstruction's tapered slabs grow (a small first one, then full
// ones): reserved for the widest, the buffers are allocated at its size
// from the first slab on and reused by the wider ones, rather than a larger
// one mapped and faulted in afresh each time a slab grows.
TEST(SinogramPipeline, ReservedRowsSizeTheBuffersOfNarrowerSlabs) {
  testing::ScratchDir dir;
  if (world().is_root()) testing::write_dx(dir / "in.h5", {});
  world().barrier();
  const DxInput in(dir / "in.h5", {}, world().get());
  SinogramPipeline pipeline(in, {});
  pipeline.reserve_rows(4);
  RawSlab narrow = pipeline.read({0, 1});
  ASSERT_TRUE(narrow.projections16);
  EXPECT_EQ(narrow.projections16.capacity, 6u * 4 * 8);
  EXPECT_EQ(narrow.flats.capacity, 2u * 4 * 8);
  EXPECT_EQ(narrow.darks.capacity, 2u * 4 * 8);
  const std::uint16_t* buffer = narrow.projections16.get();
  SinogramStorage storage;
  pipeline.preprocess(narrow, &storage);
  EXPECT_EQ(storage.size(), 4u * 6 * 8);
  pipeline.recycle(std::move(narrow));
  RawSlab wide = pipeline.read({1, 5});
  EXPECT_EQ(wide.projections16.get(), buffer);
  const auto sino = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), pipeline.preprocess(wide, &storage));
  for (std::int64_t r = 0; r < 4; ++r)
    for (std::int64_t a = 0; a < 6; ++a)
      for (std::int64_t c = 0; c < 8; ++c) ASSERT_NEAR(sino(r, a, c), expected(a, 1 + r, c), 1e-5) << r << a << c;
}

// The sinograms kept across slabs start on a 2 MiB boundary and are advised
// huge pages, so that all of them but a partial last page fault in 2 MiB at
// a time (an unaligned Kokkos view left ~1,100 faults a run at 1024 columns).
TEST(SinogramPipeline, KeptSinogramsAreInHugePages) {
  if constexpr (!Kokkos::SpaceAccessibility<Kokkos::HostSpace, kernels::Sinograms::memory_space>::accessible)
    GTEST_SKIP() << "sinograms not in host memory";
  testing::ScratchDir dir;
  if (world().is_root()) testing::write_dx(dir / "in.h5", {});
  world().barrier();
  const DxInput in(dir / "in.h5", {}, world().get());
  SinogramPipeline pipeline(in, {});
  const std::int64_t row_bytes = 6 * 8 * sizeof(kernels::Real);
  pipeline.reserve_rows(2 * std::int64_t(kernels::kHugePage) / row_bytes);  // two huge pages, never touched past row 0
  RawSlab raw = pipeline.read({0, 1});
  SinogramStorage storage;
  pipeline.preprocess(raw, &storage);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(storage.data()) % kernels::kHugePage, 0u);
  if (test::kernel_has_thp()) {
    EXPECT_TRUE(test::advised(storage.data())) << test::vm_flags(storage.data());
  }
}

// Zinger removal and Paganin mix neighbouring rows: a slab must come out as
// the same rows of the whole projection (exactly for the median; to the
// filter's decay for Paganin), or chunking and rank count would show.
TEST(SinogramPipeline, ASlabEqualsTheSameRowsOfTheWhole) {
  testing::ScratchDir dir;
  const std::int64_t rows = 40;
  if (world().is_root()) testing::write_dx(dir / "in.h5", {.angles = 4, .rows = rows, .columns = 16});
  world().barrier();
  const DxInput in(dir / "in.h5", {}, std::nullopt);
  PreprocessOptions zingers;
  zingers.zinger_threshold = 1e-4f;  // replaces most pixels by their 3x3 median
  PreprocessOptions phase;
  phase.paganin = kernels::PaganinParams{1e-6, 0.1, 20, 1};
  for (const PreprocessOptions& o : {zingers, phase}) {
    SinogramPipeline pipeline(in, o);
    ASSERT_GT(pipeline.halo(), 0);
    const auto whole = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), pipeline.load({0, rows}));
    const auto slab = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), pipeline.load({17, 21}));
    for (int r = 0; r < 4; ++r)
      for (int a = 0; a < 4; ++a)
        for (int c = 0; c < 16; ++c) {
          if (o.paganin)
            ASSERT_NEAR(slab(r, a, c), whole(17 + r, a, c), 1e-4 * std::abs(whole(17 + r, a, c))) << r;
          else
            ASSERT_EQ(slab(r, a, c), whole(17 + r, a, c)) << r << " " << a << " " << c;
        }
  }
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
