#include "jobs/tomography/buffer_pool.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <optional>

namespace beamflow::jobs {
namespace {

struct Buffer {
  std::size_t capacity = 0;
  std::shared_ptr<int> alive;  // shared with the test's weak_ptr to count live buffers
};

// The pipeline's pattern over a tapered rank's chunks: round k+1's buffer is
// taken while round k's is still in use, then k's is given back. Live
// buffers (kept or in use) never exceed the two in use at once, and one as
// large as the largest round is kept for the next run of full rounds.
TEST(BufferPool, KeptAndInUseNeverOutnumberThoseInUseAtOnce) {
  BufferPool<Buffer> pool(2);
  std::vector<std::weak_ptr<int>> made;
  const auto live = [&] {
    std::size_t n = 0;
    for (const auto& w : made) n += w.expired() ? 0 : 1;
    return n;
  };
  const auto take = [&](std::size_t count) {
    Buffer b = pool.take(count);
    if (b.capacity == 0) {
      b = {count, std::make_shared<int>(0)};
      made.push_back(b.alive);
    }
    EXPECT_GE(b.capacity, count);
    return b;
  };
  std::optional<Buffer> previous;
  for (std::size_t rows : {16, 48, 64, 64, 64, 32, 16, 8, 8}) {
    Buffer current = take(rows);
    EXPECT_LE(live(), 2u) << rows;
    if (previous) pool.give(std::move(*previous));
    previous = std::move(current);
  }
  pool.give(std::move(*previous));
  EXPECT_LE(live(), 2u);
  EXPECT_EQ(made.size(), 4u);  // 16, 48 and two of 64; the tail reuses those
  EXPECT_EQ(pool.take(64).capacity, 64u);
}

// Of buffers that fit equally, the one given back last is taken first, so
// that rounds needing one buffer at a time keep reusing the same one.
TEST(BufferPool, TakesTheLastGivenOfEqualFits) {
  BufferPool<Buffer> pool(3);
  const auto first = std::make_shared<int>(1), second = std::make_shared<int>(2), large = std::make_shared<int>(3);
  pool.give({8, first});
  pool.give({8, second});
  pool.give({16, large});
  Buffer b = pool.take(8);
  EXPECT_EQ(b.alive, second);
  pool.give(std::move(b));
  EXPECT_EQ(pool.take(4).alive, second);
  EXPECT_EQ(pool.take(8).alive, first);
  EXPECT_EQ(pool.take(8).alive, large);
}

}  // namespace
}  // namespace beamflow::jobs
