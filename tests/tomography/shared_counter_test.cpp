// parallel::SharedCounter: numbers handed out once each, across ranks, with
// no collective call; stop() ends the drawing everywhere; and a claim
// completes while the host rank makes no MPI call at all (Open MPI's
// passive-target progress on one node), which recon_job.cpp's dynamic
// chunks rely on: rank 0 is often inside a kernel or a read when another
// rank claims.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <thread>
#include <vector>

#include "core/json.hpp"
#include "parallel/shared_counter.hpp"
#include "tomo_fixture.hpp"

namespace beamflow::jobs {
namespace {

using testing::world;

TEST(SharedCounter, EveryNumberGoesToExactlyOneRank) {
  constexpr int kEach = 50;
  std::vector<std::int64_t> mine;
  {
    parallel::SharedCounter counter(world());
    for (int i = 0; i < kEach; ++i) {
      const auto n = counter.claim();
      ASSERT_TRUE(n.has_value());
      mine.push_back(*n);
    }
  }
  EXPECT_TRUE(std::is_sorted(mine.begin(), mine.end()));  // a rank's claims count up
  const std::vector<std::string> all = world().gather(Json(mine).dump());
  if (world().is_root()) {
    std::vector<std::int64_t> got;
    for (const std::string& text : all)
      for (const Json& n : Json::parse(text)) got.push_back(n.get<std::int64_t>());
    std::sort(got.begin(), got.end());
    std::vector<std::int64_t> want(std::size_t(kEach) * std::size_t(world().size()));
    std::iota(want.begin(), want.end(), 0);
    EXPECT_EQ(got, want);
  }
}

TEST(SharedCounter, AStopOnOneRankEndsEveryRanksClaims) {
  parallel::SharedCounter counter(world());
  EXPECT_TRUE(counter.claim().has_value());
  world().barrier();
  const int stopper = world().size() - 1;
  if (world().rank() == stopper) counter.stop();
  if (world().rank() == stopper) counter.stop();  // twice is the same
  world().barrier();
  EXPECT_FALSE(counter.claim().has_value());
  EXPECT_FALSE(counter.claim().has_value());
  world().barrier();
}

// Rank 0 (the host) waits for a file the other ranks write once their
// claims are done, polling the file system only: no MPI call. Without
// passive-target progress their claims would wait for rank 0's next MPI
// call, the files would never appear and rank 0 would give up after 60 s.
TEST(SharedCounter, ClaimsCompleteWhileTheHostMakesNoMpiCall) {
  if (world().size() == 1) GTEST_SKIP() << "needs a rank other than the host";
  testing::ScratchDir dir;
  parallel::SharedCounter counter(world());
  world().barrier();
  bool all_seen = true;
  if (world().is_root()) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (int r = 1; r < world().size(); ++r) {
      while (!std::filesystem::exists(dir / ("claimed." + std::to_string(r))) &&
             std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      all_seen = all_seen && std::filesystem::exists(dir / ("claimed." + std::to_string(r)));
    }
  } else {
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(counter.claim().has_value());
    const auto name = dir / ("claimed." + std::to_string(world().rank()));
    std::ofstream(name.string() + ".tmp") << "done\n";
    std::filesystem::rename(name.string() + ".tmp", name);
  }
  EXPECT_TRUE(all_seen) << "a claim waited for the host rank to call MPI";
  world().barrier();
  if (world().is_root()) {
    EXPECT_EQ(counter.claim(), std::int64_t(20) * (world().size() - 1));
  }
  world().barrier();
}

// Ranks on several nodes get the numbers dealt, without communication:
// rank r of n gets r, r + n, ...; a stop ends its own rank's claims only
// (the caller's final agreement reports the failure to the others).
TEST(SharedCounter, DealtNumbersGoRoundRobinAndAStopIsLocal) {
  const int n = world().size(), r = world().rank();
  parallel::SharedCounter counter(world(), 0, parallel::SharedCounter::Claims::Dealt);
  EXPECT_EQ(counter.claim(), r);
  EXPECT_EQ(counter.claim(), r + n);
  world().barrier();
  if (r == n - 1) counter.stop();
  world().barrier();
  if (r == n - 1) {
    EXPECT_FALSE(counter.claim().has_value());
  } else {
    EXPECT_EQ(counter.claim(), r + 2 * n);
  }
}

TEST(SharedCounter, ASerialCounterCountsWithoutMpi) {
  parallel::SharedCounter counter(parallel::Comm::serial());
  EXPECT_EQ(counter.claim(), 0);
  EXPECT_EQ(counter.claim(), 1);
  counter.stop();
  EXPECT_FALSE(counter.claim().has_value());
}

}  // namespace
}  // namespace beamflow::jobs
