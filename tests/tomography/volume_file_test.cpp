// The output volume and its checkpoint: header round trip, independent
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
  h.input_digest = "xxh128:" + std::string(32, 'a');
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
  VolumeFile v(file);
  EXPECT_EQ(v.done(), std::vector<std::uint8_t>(6, 0));
  v.close();
}

// A SHA-256 input digest is also written as the bare hex input_sha256, all
// that an older beamflow's volume records; such a volume (input_digest
// taken away here) reads back as "sha256:<hex>".
TEST_F(VolumeFileTest, AnOlderVolumesSha256ReadsAsASha256Digest) {
  VolumeHeader h = sample_header();
  const std::string hex(64, 'c');
  h.input_digest = "sha256:" + hex;
  create(h);
  const io::h5::Site site{"test", "States.TaskFailed", file.string()};
  world().agree([&] {
    if (!world().is_root()) return;
    io::h5::Handle f = io::h5::open_file(file, io::h5::Access::ReadWrite, std::nullopt, site);
    io::h5::Handle data = *io::h5::try_open_dataset(f.get(), kVolumeDataset, site);
    EXPECT_EQ(io::h5::read_string_attribute(data.get(), "input_sha256", site), hex);
    ASSERT_GE(H5Adelete(data.get(), "input_digest"), 0);
  });
  EXPECT_EQ(VolumeFile::read_header(file).difference(h), "");
  EXPECT_EQ(VolumeFile::read_header(file).input_digest, "sha256:" + hex);
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
  other.input_digest = "xxh128:" + std::string(32, 'b');
  EXPECT_NE(h.difference(other).find("input digest"), std::string::npos);
}

TEST_F(VolumeFileTest, CommitsFromEveryRankSetDoneFlags) {
  create(sample_header());
  {
    VolumeFile v(file);
    // Round 1: every rank writes its block of slices 0..3 (some ranks none).
    const parallel::RowRange mine = parallel::block_of(4, world().size(), world().rank());
    std::vector<float> values(static_cast<std::size_t>(mine.size() * 16));
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = float(mine.begin * 16) + float(i);
    v.commit(mine, values.data());
    // Round 2: only rank 0 has work; the others take part with nothing.
    const parallel::RowRange last = world().is_root() ? parallel::RowRange{5, 6} : parallel::RowRange{};
    const std::vector<float> fives(16, 5.f);
    v.commit(last, fives.data());
    world().barrier();  // commits are not collective: every rank's has returned
    EXPECT_EQ(v.done(), (std::vector<std::uint8_t>{1, 1, 1, 1, 0, 1}));
    v.close();
  }
  world().barrier();
  const VolumeSlab slab = read_volume(file);
  ASSERT_EQ(slab.values.size(), 6u * 16u);
  for (std::size_t i = 0; i < 64; ++i) EXPECT_EQ(slab.values[i], float(i));
  for (std::size_t i = 80; i < 96; ++i) EXPECT_EQ(slab.values[i], 5.f);
  // The header is untouched by the writes.
  EXPECT_EQ(VolumeFile::read_header(file).difference(sample_header()), "");
}

// Slices of a width that is a multiple of 32, from aligned memory, are
// written past the page cache where the filesystem allows it: the values
// read back through HDF5 are the ones committed, next to slices written
// through the page cache (unaligned memory) in the same file.
TEST_F(VolumeFileTest, AlignedAndUnalignedCommitsReadBack) {
  create(sample_header(4, 32));
  const std::size_t slice = 32 * 32;
  {
    VolumeFile v(file);
    if (world().is_root()) {
      AlignedFloats aligned = aligned_floats(2 * slice);
      for (std::size_t i = 0; i < 2 * slice; ++i) aligned.data()[i] = float(i);
      v.commit({0, 2}, aligned.data());
      std::vector<float> unaligned(2 * slice + 1);
      for (std::size_t i = 0; i < 2 * slice; ++i) unaligned[i + 1] = -float(i);
      v.commit({2, 4}, unaligned.data() + 1);
    }
    world().barrier();
    EXPECT_EQ(v.done(), std::vector<std::uint8_t>(4, 1));
    v.close();
  }
  const VolumeSlab slab = read_volume(file);
  ASSERT_EQ(slab.values.size(), 4 * slice);
  for (std::size_t i = 0; i < 2 * slice; ++i) {
    ASSERT_EQ(slab.values[i], float(i)) << i;
    ASSERT_EQ(slab.values[2 * slice + i], -float(i)) << i;
  }
  world().barrier();
}

// Slices are written at the dataset's raw-data offset, so a volume that is
// not stored contiguously (here chunked, as another tool might write it) is
// refused rather than written into.
TEST_F(VolumeFileTest, AVolumeNotStoredContiguouslyIsRefused) {
  if (world().is_root()) {
    const io::h5::Site site{"test", "States.TaskFailed", file.string()};
    io::h5::Handle f = io::h5::open_file(file, io::h5::Access::Create, std::nullopt, site);
    io::h5::create_parents(f.get(), kVolumeDataset, site);
    const hsize_t dims[3] = {6, 4, 4}, chunk[3] = {1, 4, 4}, flags = 6;
    io::h5::Handle space = io::h5::own(H5Screate_simple(3, dims, nullptr), site, "space");
    io::h5::Handle dcpl = io::h5::own(H5Pcreate(H5P_DATASET_CREATE), site, "dcpl");
    ASSERT_GE(H5Pset_chunk(dcpl.get(), 3, chunk), 0);
    io::h5::own(H5Dcreate2(f.get(), kVolumeDataset, H5T_NATIVE_FLOAT, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                site, "data");
    io::h5::Handle done_space = io::h5::own(H5Screate_simple(1, &flags, nullptr), site, "space");
    io::h5::own(H5Dcreate2(f.get(), kDoneDataset, H5T_NATIVE_UINT8, done_space.get(), H5P_DEFAULT, H5P_DEFAULT,
                           H5P_DEFAULT),
                site, "done");
  }
  world().barrier();
  expect_error([&] { VolumeFile v(file); }, "tomo.output.write",
               {"not contiguous", "file=" + file.string(), "dataset=/exchange/data"});
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
