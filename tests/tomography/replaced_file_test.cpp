#include "jobs/tomography/replaced_file.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>

#include "tomo_fixture.hpp"

namespace beamflow::jobs {
namespace {

void write(const std::filesystem::path& path, const std::string& text) { std::ofstream(path) << text; }

// Descriptors of this process open on `path` after it lost its name.
int open_deleted(const std::filesystem::path& path) {
  int n = 0;
  for (const auto& fd : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    if (std::filesystem::read_symlink(fd.path(), ec).string() == path.string() + " (deleted)") ++n;
  }
  return n;
}

struct ReplacedFileTest : ::testing::Test {
  testing::ScratchDir scratch;
  std::filesystem::path dir = scratch / ("rank" + std::to_string(testing::world().rank()));
  std::filesystem::path out = dir / "volume.h5";
  std::filesystem::path partial = dir / "volume.h5.partial";
  void SetUp() override { std::filesystem::create_directories(dir); }
};

TEST_F(ReplacedFileTest, TheReplacedFileIsHeldAcrossTheRenameAndClosedOnRelease) {
  write(out, "old volume");
  write(partial, "new volume");
  ReplacedFile replaced(out);
  EXPECT_TRUE(replaced.held());
  std::filesystem::rename(partial, out);
  EXPECT_EQ(open_deleted(out), 1);  // its blocks outlive the rename
  const std::shared_future<void> closed = std::move(replaced).release();
  ASSERT_EQ(closed.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_EQ(open_deleted(out), 0);
  EXPECT_FALSE(replaced.held());
  std::ifstream in(out);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "new volume");
}

TEST_F(ReplacedFileTest, NotReleasedItIsClosedWhereItEnds) {
  write(out, "old volume");
  write(partial, "new volume");
  {
    ReplacedFile replaced(out);
    std::filesystem::rename(partial, out);
    EXPECT_EQ(open_deleted(out), 1);
  }
  EXPECT_EQ(open_deleted(out), 0);
}

TEST_F(ReplacedFileTest, HoldsNothingWithoutARegularFile) {
  EXPECT_FALSE(ReplacedFile(out).held());  // a first run: nothing to replace
  std::filesystem::create_directory(out);
  EXPECT_FALSE(ReplacedFile(out).held());
  std::filesystem::remove(out);
  write(partial, "new volume");
  std::filesystem::create_symlink(partial, out);  // the rename replaces the link, not its target
  ReplacedFile link(out);
  EXPECT_FALSE(link.held());
  const std::shared_future<void> closed = std::move(link).release();
  EXPECT_EQ(closed.wait_for(std::chrono::seconds(0)), std::future_status::ready);
}

}  // namespace
}  // namespace beamflow::jobs
