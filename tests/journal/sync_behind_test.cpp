#include "platform/output_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include "platform/posix_file.hpp"
#include "journal_test_support.hpp"

namespace beamflow::fs {
namespace {

// Polls until `sync` has done `n` fdatasyncs (at most 30 s).
bool wait_synced(const SyncBehind& sync, std::int64_t n) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (sync.synced() < n)
    if (std::chrono::steady_clock::now() > until) return false;
    else std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return true;
}

TEST(SyncBehind, AsksAreServedBehindTheWriterAndNoneAfterFinish) {
  test::ScratchDir scratch;
  const auto file = scratch / "slab.bin";
  const detail::UniqueFd fd(::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  ASSERT_TRUE(fd);
  SyncBehind sync(fd.get());
  EXPECT_EQ(sync.synced(), 0);  // nothing asked, nothing done (no thread either)
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(detail::write_all(fd.get(), "slab", 4), 0);
    sync.behind();
  }
  ASSERT_TRUE(wait_synced(sync, 1));
  EXPECT_EQ(sync.finish(), 0);
  const std::int64_t done = sync.synced();
  EXPECT_LE(done, 3);  // asks made while one ran were served together
  sync.behind();       // after finish: the publishing fsync's work
  EXPECT_EQ(sync.finish(), 0);
  EXPECT_EQ(sync.synced(), done);
}

TEST(SyncBehind, AFailedSyncIsReportedByFinish) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  const detail::UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  SyncBehind sync(write_end.get());  // fdatasync(2) of a pipe fails with EINVAL
  sync.behind();
  ASSERT_TRUE(wait_synced(sync, 1));
  EXPECT_EQ(sync.finish(), EINVAL);
  EXPECT_EQ(sync.finish(), EINVAL);  // kept: the caller may ask again
}

}  // namespace
}  // namespace beamflow::fs
