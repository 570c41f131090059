// The pilot's run-driving threads: a thread is kept for the next run, and a
// run never waits for another to end.
#include "pilot/driver_threads.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

namespace beamflow::pilot {
namespace {

// Holds every job until `n` of them run at once (or 60 s went by: a job left
// waiting behind another would otherwise hang the test).
class AllAtOnce {
 public:
  explicit AllAtOnce(int n) : m_n(n) {}
  bool arrive_and_wait() {
    std::unique_lock<std::mutex> lock(m_mutex);
    if (++m_arrived == m_n) m_cv.notify_all();
    return m_cv.wait_for(lock, std::chrono::seconds(60), [this] { return m_arrived >= m_n; });
  }

 private:
  std::mutex m_mutex;
  std::condition_variable m_cv;
  int m_arrived = 0;
  const int m_n;
};

// A job's thread is idle again a moment after the job said it ended.
bool becomes_idle(const DriverThreads& d, std::size_t n) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (d.idle() < n)
    if (std::chrono::steady_clock::now() > until) return false;
    else std::this_thread::yield();
  return true;
}

TEST(DriverThreads, RunsOneAfterAnotherOnOneThread) {
  DriverThreads d;
  for (int i = 0; i < 20; ++i) {
    std::promise<void> done;
    d.run([&done] { done.set_value(); });
    done.get_future().get();
    ASSERT_TRUE(becomes_idle(d, 1));
  }
  EXPECT_EQ(d.threads(), 1u);
}

TEST(DriverThreads, JobsRunAtOnceAndTheirThreadsAreKept) {
  constexpr int n = 8;
  DriverThreads d;
  for (int round = 0; round < 3; ++round) {
    AllAtOnce gate(n);
    std::atomic<int> together{0};
    std::promise<void> all_done;
    std::atomic<int> left{n};
    for (int i = 0; i < n; ++i)
      d.run([&] {
        if (gate.arrive_and_wait()) ++together;
        if (--left == 0) all_done.set_value();
      });
    all_done.get_future().get();
    EXPECT_EQ(together.load(), n) << "round " << round;
    ASSERT_TRUE(becomes_idle(d, n));
  }
  // Rounds 2 and 3 ran on round 1's threads.
  EXPECT_EQ(d.threads(), static_cast<std::size_t>(n));
}

TEST(DriverThreads, EveryJobHandedOverRunsBeforeItIsDestroyed) {
  std::atomic<int> ran{0};
  {
    DriverThreads d;
    for (int i = 0; i < 50; ++i) d.run([&ran] { ++ran; });
  }
  EXPECT_EQ(ran.load(), 50);
}

}  // namespace
}  // namespace beamflow::pilot
