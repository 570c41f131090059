// The phantom generator: its Data Exchange file, truth volume and side file.
#include <gtest/gtest.h>

#include <fstream>

#include "jobs/tomography/dxchange.hpp"
#include "jobs/tomography/phantom_job.hpp"
#include "jobs/tomography/volume_file.hpp"
#include "tomo_fixture.hpp"

namespace beamflow::jobs {
namespace {

using testing::expect_error;

class PhantomTest : public ::testing::Test {
 protected:
  testing::ScratchDir dir;
  // One phantom per rank: make_phantom is a single-process job.
  std::filesystem::path output = dir / ("p" + std::to_string(testing::world().rank()) + ".h5");
};

TEST_F(PhantomTest, NoiseFreeFileTruthAndSideFile) {
  PhantomOptions o = testing::small_phantom(output, 40, 12, 3);
  o.center_offset = -3.5;
  o.photons = 0;
  o.flats = 2;
  o.darks = 3;
  const PhantomResult r = make_phantom(o);
  EXPECT_EQ(r.center, 19.5 - 3.5);
  EXPECT_GT(r.attenuation_scale, 0);

  const DxInput in(output, {}, std::nullopt);
  EXPECT_EQ(in.shape().angles, 12);
  EXPECT_EQ(in.shape().rows, 3);
  EXPECT_EQ(in.shape().columns, 40);
  EXPECT_EQ(in.shape().flats, 2);
  EXPECT_EQ(in.shape().darks, 3);
  EXPECT_NEAR(in.theta_radians()[6], M_PI / 2, 1e-12);
  std::vector<float> darks(3 * 3 * 40);
  in.read_darks({0, 3}, darks.data());
  for (float d : darks) EXPECT_EQ(d, 100.f);  // noise-free: exactly the dark level

  // Truth: the reconstruction grid, the phantom inside a 2 * ceil(3.5) margin.
  EXPECT_EQ(volume_shape(r.truth_volume), (std::array<std::int64_t, 3>{3, 40, 40}));
  const VolumeSlab truth = read_volume(r.truth_volume, parallel::RowRange{1, 2});
  float peak = 0;
  for (std::int64_t y = 0; y < 40; ++y)
    for (std::int64_t x = 0; x < 40; ++x) {
      const float v = truth.values[std::size_t(y * 40 + x)];
      peak = std::max(peak, v);
      if (x < 4 || y < 4 || x >= 36 || y >= 36) {
        EXPECT_EQ(v, 0.f) << x << "," << y;
      }
    }
  EXPECT_NEAR(peak, r.attenuation_scale, 1e-6);  // Shepp-Logan's rim is 1

  std::ifstream side(r.truth_json);
  const Json j = Json::parse(side);
  EXPECT_EQ(j["center"], 16.0);
  EXPECT_EQ(j["volume_file"], output.stem().string() + ".truth.h5");
  EXPECT_EQ(j["volume_dataset"], "/exchange/data");
  EXPECT_EQ(j, r.truth);
}

TEST_F(PhantomTest, NoisyDataAreSixteenBitCountsAndReproducible) {
  PhantomOptions o = testing::small_phantom(output, 16, 4, 3);
  o.seed = 7;
  make_phantom(o);
  std::vector<float> first(4 * 3 * 16), second(4 * 3 * 16);
  DxInput(output, {}, std::nullopt).read_projections({0, 3}, first.data());
  o.overwrite = true;
  make_phantom(o);
  DxInput(output, {}, std::nullopt).read_projections({0, 3}, second.data());
  EXPECT_EQ(first, second);
  for (float v : first) EXPECT_EQ(v, std::floor(v));
}

TEST_F(PhantomTest, ImpossibleOptionsAreUsageErrors) {
  PhantomOptions o = testing::small_phantom(output, 64, 360, 16);
  o.center_offset = 17;
  expect_error([&] { make_phantom(o); }, "tomo.usage.phantom", {"--center-offset"});
  o.center_offset = 0;
  o.photons = 70000;
  expect_error([&] { make_phantom(o); }, "tomo.usage.phantom", {"16-bit"});
  o.photons = 100;
  o.output = dir / "missing" / "p.h5";
  expect_error([&] { make_phantom(o); }, "tomo.output.unwritable", {"does not exist"});
}

}  // namespace
}  // namespace beamflow::jobs
