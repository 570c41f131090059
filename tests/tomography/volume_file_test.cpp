// The output volume and its checkpoint: header round trip, collective
// commits from every rank (also ranks with nothing to write), done flags.
#include "jobs/tomography/volume_file.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "tomo_fixture.hpp"

namespace beamflow::jobs {
namespace {

using testing::expect_error;
using testing::ScratchDir;
using testing::world;

VolumeHeader sample_header(std::int64_t slices = 6, std::int64_t width = 4) {
  VolumeHeader h;
  h.slices = slices;
  h.width = width;
  h.rows = {10, 10 + slices};
  h.algorithm = "gridrec";
  h.filter = "shepp";
  h.pad = 2;
  for (std::int64_t i = 0; i < slices; ++i) h.centers.push_back(1.5 + 0.01 * double(i));
  h.input_file = "/data/scan.h5";
  h.input_sha256 = std::string(64, 'a');
  h.input_dataset = "/exchange/data";
  h.parameters = {{"flat_reduce", "mean"}};
  return h;
}

class VolumeFileTest : public ::testing::Test {
 protected:
  void create(const VolumeHeader& h) {
    if (world().is_root()) VolumeFile::create(file, h);
    world().barrier();
  }
  ScratchDir dir;
  std::filesystem::path file = dir / "out.h5";
};

TEST_F(VolumeFileTest, HeaderRoundTripsAndNothingIsDoneYet) {
  const VolumeHeader h = sample_header();
  create(h);
  EXPECT_FALSE(std::filesystem::exists(file.string() + ".creating"));
  const VolumeHeader back = VolumeFile::read_header(file);
  EXPECT_EQ(back.difference(h), "");
  EXPECT_EQ(back.version, BEAMFLOW_VERSION);
  VolumeFile v(file, world().get());
  EXPECT_EQ(v.done(), std::vector<std::uint8_t>(6, 0));
  v.close();
}

TEST_F(VolumeFileTest, ThousandsOfCentresFitInTheAttribute) {
  const VolumeHeader h = sample_header(20000, 2);  // 160 kB of centres
  create(h);
  EXPECT_EQ(VolumeFile::read_header(file).centers, h.centers);
}

TEST_F(VolumeFileTest, DifferenceNamesWhatChanged) {
  const VolumeHeader h = sample_header();
  VolumeHeader other = h;
  other.algorithm = "fbp";
  EXPECT_EQ(h.difference(other), "algorithm: 'gridrec' vs 'fbp'");
  other = h;
  other.centers[3] += 0.5;
  EXPECT_NE(h.difference(other).find("centres"), std::string::npos);
  other = h;
  other.parameters["flat_reduce"] = "median";
  EXPECT_NE(h.difference(other).find("median"), std::string::npos);
  other = h;
  other.input_sha256 = std::string(64, 'b');
  EXPECT_NE(h.difference(other).find("input sha256"), std::string::npos);
}

TEST_F(VolumeFileTest, CollectiveCommitsFromEveryRankSetDoneFlags) {
  create(sample_header());
  {
    VolumeFile v(file, world().get());
    // Round 1: every rank writes its block of slices 0..3 (some ranks none).
    const parallel::RowRange mine = parallel::block_of(4, world().size(), world().rank());
    std::vector<float> values(static_cast<std::size_t>(mine.size() * 16));
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = float(mine.begin * 16) + float(i);
    v.commit(mine, values.data());
    // Round 2: only rank 0 has work; the others take part with nothing.
    const parallel::RowRange last = world().is_root() ? parallel::RowRange{5, 6} : parallel::RowRange{};
    const std::vector<float> fives(16, 5.f);
    v.commit(last, fives.data());
    EXPECT_EQ(v.done(), (std::vector<std::uint8_t>{1, 1, 1, 1, 0, 1}));
    v.close();
  }
  const VolumeSlab slab = read_volume(file);
  ASSERT_EQ(slab.values.size(), 6u * 16u);
  for (std::size_t i = 0; i < 64; ++i) EXPECT_EQ(slab.values[i], float(i));
  for (std::size_t i = 80; i < 96; ++i) EXPECT_EQ(slab.values[i], 5.f);
  // The header is untouched by the writes.
  EXPECT_EQ(VolumeFile::read_header(file).difference(sample_header()), "");
}

TEST_F(VolumeFileTest, CreationFailuresNameTheFile) {
  // The temporary name is taken by a directory: HDF5 cannot create the file.
  if (world().is_root()) {
    std::filesystem::create_directory(file.string() + ".creating");
    expect_error([&] { VolumeFile::create(file, sample_header()); }, "tomo.output.write",
                 {"cannot create", "file=" + file.string() + ".creating"});
    EXPECT_FALSE(std::filesystem::exists(file));
  }
  expect_error([&] { check_output_directory(dir / "none" / "x.h5"); }, "tomo.output.unwritable",
               {"does not exist", "file="});
}

TEST_F(VolumeFileTest, ForeignFilesAreNotMistakenForOutputs) {
  if (world().is_root()) std::ofstream(file) << "not hdf5";
  world().barrier();
  expect_error([&] { VolumeFile::read_header(file); }, "tomo.output.exists",
               {"not a readable HDF5 file", "--overwrite", "file=" + file.string()});
}

TEST_F(VolumeFileTest, ReadVolumeRejectsSlicesOutsideTheVolume) {
  create(sample_header());
  expect_error([&] { read_volume(file, parallel::RowRange{4, 9}); }, "tomo.usage.slice", {"within the volume's 6"});
  expect_error([&] { read_volume(file, std::nullopt, "/nope"); }, "tomo.output.unreadable",
               {"dataset=/nope"});
  EXPECT_EQ(volume_shape(file), (std::array<std::int64_t, 3>{6, 4, 4}));
}

}  // namespace
}  // namespace beamflow::jobs
