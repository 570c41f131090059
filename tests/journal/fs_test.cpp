#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "platform/fs.hpp"
#include "journal_test_support.hpp"

namespace beamflow::fs {
namespace {

class FsTest : public ::testing::Test {
 protected:
  test::ScratchDir dir;
  std::filesystem::path file = dir / "state.json";
};

TEST_F(FsTest, WriteFileAtomicCreatesAndReplaces) {
  write_file_atomic(file, "first");
  EXPECT_EQ(read_file(file), "first");
  write_file_atomic(file, "second, longer");
  EXPECT_EQ(read_file(file), "second, longer");
  write_file_atomic(file, "");
  EXPECT_EQ(read_file(file), "");
  EXPECT_EQ(test::count_entries(dir.path()), 1u);  // no temporary files left behind
}

TEST_F(FsTest, ReadFileKeepsBinaryContent) {
  const std::string data("a\0b\xff\n", 5);
  write_file_atomic(file, data);
  EXPECT_EQ(read_file(file), data);
}

TEST_F(FsTest, RelativePathInTheWorkingDirectory) {
  const auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  write_file_atomic("bare-name", "x");
  std::filesystem::current_path(cwd);
  EXPECT_EQ(read_file(dir / "bare-name"), "x");
}

// A reader racing the writer, and a writer killed mid-loop, only ever see
// one whole version of the file.
TEST_F(FsTest, WriteFileAtomicNeverExposesAMix) {
  const std::string a(64 * 1024, 'a');
  const std::string b(100 * 1024, 'b');
  write_file_atomic(file, a);
  const pid_t writer = test::Process::fork([&] {
                         for (unsigned i = 0;; ++i) {
                           try {
                             write_file_atomic(file, i % 2 ? a : b);
                           } catch (...) {
                             return 1;
                           }
                         }
                       }).detach();
  ASSERT_GE(writer, 0);
  for (int i = 0; i < 500; ++i) {
    const std::string seen = read_file(file);
    ASSERT_TRUE(seen == a || seen == b) << "read " << seen.size() << " bytes of a mix";
  }
  ::kill(writer, SIGKILL);
  EXPECT_EQ(test::wait_for_child(writer), 128 + SIGKILL);
  const std::string last = read_file(file);
  EXPECT_TRUE(last == a || last == b);
}

TEST_F(FsTest, WriteFileAtomicIntoAMissingDirectoryFails) {
  const auto missing = dir / "nowhere" / "f";
  test::expect_error([&] { write_file_atomic(missing, "x"); }, "fs.write",
                     {"cannot create a temporary file", "No such file or directory",
                      "file=" + missing.string()});
}

TEST_F(FsTest, WriteFileAtomicOverADirectoryFailsAndCleansUp) {
  std::filesystem::create_directory(dir / "sub");
  test::expect_error([&] { write_file_atomic(dir / "sub", "x"); }, "fs.write",
                     {"over it", "Is a directory"});
  EXPECT_EQ(test::count_entries(dir.path()), 1u);  // the temporary file was removed
}

TEST_F(FsTest, ReadFileOfAMissingFileFails) {
  test::expect_error([&] { read_file(file); }, "fs.read",
                     {"cannot open: No such file or directory", "file=" + file.string()});
}

TEST_F(FsTest, ReadFileOfADirectoryFails) {
  test::expect_error([&] { read_file(dir.path()); }, "fs.read",
                     {"not a regular file", "file=" + dir.path().string()});
}

TEST_F(FsTest, SyncDirectory) {
  EXPECT_NO_THROW(sync_directory(dir.path()));
  const auto missing = dir / "nowhere";
  test::expect_error([&] { sync_directory(missing); }, "fs.sync",
                     {"cannot fsync directory", "No such file or directory",
                      "file=" + missing.string()});
}

TEST_F(FsTest, LockIsExclusiveAndReleasedWithTheObject) {
  const auto lock_file = dir / "lock";
  {
    auto held = FileLock::try_acquire(lock_file);
    ASSERT_TRUE(held.has_value());
    EXPECT_GE(held->fd(), 0);
    EXPECT_FALSE(FileLock::try_acquire(lock_file).has_value());  // even in the same process
    FileLock moved = std::move(*held);
    EXPECT_EQ(held->fd(), -1);
    EXPECT_FALSE(FileLock::try_acquire(lock_file).has_value());
  }
  EXPECT_TRUE(FileLock::try_acquire(lock_file).has_value());
}

TEST_F(FsTest, ReleasedDescriptorKeepsTheLock) {
  const auto lock_file = dir / "lock";
  auto held = FileLock::try_acquire(lock_file);
  ASSERT_TRUE(held.has_value());
  const int fd = held->release();
  EXPECT_EQ(held->fd(), -1);
  held.reset();
  EXPECT_FALSE(FileLock::try_acquire(lock_file).has_value());
  ::close(fd);
  EXPECT_TRUE(FileLock::try_acquire(lock_file).has_value());
}

TEST_F(FsTest, LockExcludesAnotherProcess) {
  const auto lock_file = dir / "lock";
  auto try_in_child = [&] {
    return test::run_in_child([&] { return FileLock::try_acquire(lock_file) ? 1 : 0; });
  };
  {
    auto held = FileLock::try_acquire(lock_file);
    ASSERT_TRUE(held.has_value());
    EXPECT_EQ(try_in_child(), 0);  // the child is refused
  }
  EXPECT_EQ(try_in_child(), 1);  // free once the parent let go
}

TEST_F(FsTest, LockDiesWithItsProcess) {
  const auto lock_file = dir / "lock";
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t holder = test::Process::fork([&] {
                         ::close(ready[0]);
                         auto lock = FileLock::try_acquire(lock_file);
                         const char c = lock ? 'y' : 'n';
                         if (::write(ready[1], &c, 1) != 1) return 2;
                         for (;;) ::pause();
                       }).detach();
  ASSERT_GE(holder, 0);
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  ASSERT_EQ(c, 'y');
  EXPECT_FALSE(FileLock::try_acquire(lock_file).has_value());
  ::kill(holder, SIGKILL);
  EXPECT_EQ(test::wait_for_child(holder), 128 + SIGKILL);
  EXPECT_TRUE(FileLock::try_acquire(lock_file).has_value());
}

TEST_F(FsTest, LockFileInAMissingDirectoryFails) {
  const auto missing = dir / "nowhere" / "lock";
  for (const auto& take : std::vector<std::function<void()>>{[&] { FileLock::try_acquire(missing); },
                                                              [&] { FileLock::acquire(missing); }})
    test::expect_error(take, "fs.lock", {"cannot open lock file", "No such file or directory", "file=" + missing.string()});
}

// Whether /proc/locks shows `pid` waiting for a flock(2) (a "->" line).
bool waits_for_a_flock(pid_t pid) {
  std::ifstream locks("/proc/locks");
  for (std::string line; std::getline(locks, line);) {
    std::istringstream words(line);
    std::string number, arrow, kind, advisory, mode, who;
    words >> number >> arrow >> kind >> advisory >> mode >> who;
    if (arrow == "->" && kind == "FLOCK" && who == std::to_string(pid)) return true;
  }
  return false;
}

TEST_F(FsTest, AcquireWaitsUntilTheHolderLetsGo) {
  const auto lock_file = dir / "lock";
  const auto released = dir / "released";  // written by the holder just before letting go
  auto held = FileLock::try_acquire(lock_file);
  ASSERT_TRUE(held.has_value());
  // The child takes the lock the holder (this process) has: it must come
  // back only after the holder let go, so it sees `released`. It closes
  // its copy of the holder's descriptor first: a fork shares the lock.
  const int holders = held->fd();
  auto child = test::Process::fork([&] {
    ::close(holders);
    const FileLock mine = FileLock::acquire(lock_file);
    return std::filesystem::exists(released) ? 0 : 3;
  });
  // Let go only once the child waits in flock(2) (where /proc/locks shows
  // waiters): else the test would also pass for a lock taken after we let go.
  for (int i = 0; i < 3000 && !waits_for_a_flock(child.pid()); ++i) ::usleep(10000);
  EXPECT_TRUE(waits_for_a_flock(child.pid()));
  write_file_atomic(released, "");
  held.reset();
  EXPECT_EQ(child.wait().exit_code, 0);
  EXPECT_TRUE(FileLock::try_acquire(lock_file).has_value());  // the child's lock died with it
}

}  // namespace
}  // namespace beamflow::fs
