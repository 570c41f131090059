// ReadAhead (jobs/transfer/read_ahead.hpp): the reads of a source read with
// O_DIRECT, kept in flight ahead of the copier's hashing.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "jobs/transfer/read_ahead.hpp"

namespace beamflow::transfer::testing {
namespace {

using namespace std::chrono_literals;

// Four buffers of 8 bytes; what went back through `release`.
struct Buffers {
  char data[4][8] = {};
  std::mutex mutex;
  std::multiset<char*> released;
  ReadAhead::Release release() {
    return [this](char* b) {
      const std::lock_guard lock(mutex);
      released.insert(b);
    };
  }
};

// The reads run on their own thread without waiting for take(), and take()
// hands them back in the order asked, each with its own buffer and count.
TEST(ReadAhead, ReadsAheadOfTheCallerAndHandsBackInOrder) {
  Buffers buffers;
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<off_t> ran;
  const ReadAhead::Read read = [&](const iovec* pieces, int count, off_t at) {
    EXPECT_EQ(count, 1);
    static_cast<char*>(pieces[0].iov_base)[0] = static_cast<char>('a' + at);
    const std::lock_guard lock(mutex);
    ran.push_back(at);
    changed.notify_all();
    return pieces[0].iov_len - static_cast<std::size_t>(at);
  };
  {
    ReadAhead ahead(buffers.release());
    for (off_t at = 0; at < 3; ++at) ahead.ask({{buffers.data[at], 8}}, at, read);
    EXPECT_EQ(ahead.asked(), 3U);
    {
      std::unique_lock lock(mutex);
      EXPECT_TRUE(changed.wait_for(lock, 30s, [&] { return ran.size() == 3; })) << "the reads did not run ahead";
      EXPECT_EQ(ran, (std::vector<off_t>{0, 1, 2}));
    }
    for (off_t at = 0; at < 3; ++at) {
      const ReadAhead::Piece piece = ahead.take();
      EXPECT_EQ(piece.buffer, buffers.data[at]);
      EXPECT_EQ(piece.got, 8U - static_cast<std::size_t>(at));
      EXPECT_EQ(piece.buffer[0], static_cast<char>('a' + at));
    }
    EXPECT_EQ(ahead.asked(), 0U);
  }
  EXPECT_TRUE(buffers.released.empty()) << "a taken buffer is the caller's";
}

// A read that fails is reported by its own take(), in order: the reads
// before it are handed back first, and the error of a later read is not
// the one reported. The failed read's buffer and those never taken go back.
TEST(ReadAhead, ReportsTheFirstErrorInOrderAndGivesEveryBufferBack) {
  Buffers buffers;
  const ReadAhead::Read read = [&](const iovec* pieces, int, off_t at) -> std::size_t {
    if (at >= 1 && at <= 2) throw std::runtime_error("cannot read at " + std::to_string(at));
    return pieces[0].iov_len;
  };
  {
    ReadAhead ahead(buffers.release());
    for (off_t at = 0; at < 4; ++at) ahead.ask({{buffers.data[at], 8}}, at, read);
    EXPECT_EQ(ahead.take().buffer, buffers.data[0]);
    try {
      ahead.take();
      ADD_FAILURE() << "the failed read was not reported";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "cannot read at 1");
    }
    {
      const std::lock_guard lock(buffers.mutex);
      EXPECT_EQ(buffers.released, (std::multiset<char*>{buffers.data[1]}));
    }
  }
  EXPECT_EQ(buffers.released, (std::multiset<char*>{buffers.data[1], buffers.data[2], buffers.data[3]}));
}

// A read still running when the ReadAhead goes writes into its buffer until
// it returns: the buffer goes back only after that.
TEST(ReadAhead, GivesABufferBackOnlyOnceItsReadHasReturned) {
  Buffers buffers;
  std::atomic<bool> returned{false};
  std::atomic<bool> started{false};
  const ReadAhead::Read read = [&](const iovec* pieces, int, off_t) {
    started = true;
    std::this_thread::sleep_for(50ms);
    returned = true;
    return pieces[0].iov_len;
  };
  bool returned_at_release = false;
  {
    ReadAhead ahead([&](char*) { returned_at_release = returned.load(); });
    ahead.ask({{buffers.data[0], 8}}, 0, read);
    while (!started) std::this_thread::yield();
  }
  EXPECT_TRUE(returned_at_release);
}

// Consecutive pieces asked together are one read (one preadv: fewer, larger
// requests to the disk) and are still taken one by one, each with what the
// read got of it: a read that ends inside the second piece leaves it short
// and the third empty. An error of such a read is every piece's.
TEST(ReadAhead, ReadsSeveralPiecesAtOnceAndHandsThemBackOneByOne) {
  Buffers buffers;
  std::atomic<int> calls{0};
  const ReadAhead::Read read = [&](const iovec* pieces, int count, off_t at) -> std::size_t {
    ++calls;
    if (at == 100) throw std::runtime_error("cannot read");
    EXPECT_EQ(count, 3);
    for (int i = 0; i < count; ++i) static_cast<char*>(pieces[i].iov_base)[0] = static_cast<char>('a' + i);
    return pieces[0].iov_len + 3;
  };
  {
    ReadAhead ahead(buffers.release());
    ahead.ask({{buffers.data[0], 8}, {buffers.data[1], 8}, {buffers.data[2], 8}}, 0, read);
    EXPECT_EQ(ahead.asked(), 3U);
    const std::size_t expected[] = {8, 3, 0};
    for (int i = 0; i < 3; ++i) {
      const ReadAhead::Piece piece = ahead.take();
      EXPECT_EQ(piece.buffer, buffers.data[i]);
      EXPECT_EQ(piece.got, expected[i]);
      EXPECT_EQ(piece.buffer[0], static_cast<char>('a' + i));
    }
    EXPECT_EQ(calls.load(), 1);
    ahead.ask({{buffers.data[0], 8}, {buffers.data[1], 8}, {buffers.data[3], 8}}, 100, read);
    EXPECT_THROW(ahead.take(), std::runtime_error);
    EXPECT_THROW(ahead.take(), std::runtime_error);
  }
  EXPECT_EQ(buffers.released, (std::multiset<char*>{buffers.data[0], buffers.data[1], buffers.data[3]}));
}

}  // namespace
}  // namespace beamflow::transfer::testing
