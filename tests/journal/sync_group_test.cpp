// fs::SyncGroup: one flush serves every caller waiting when it starts, a
// caller is served only by a flush that started after its call, a failed
// flush fails every caller of its window, a declined one sends them to
// their own syncs.
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "platform/sync_group.hpp"

namespace beamflow {
namespace {

using Outcome = fs::SyncGroup::Outcome;

// A flush that blocks until released, counting its calls.
struct Gate {
  std::mutex m;
  std::condition_variable cv;
  bool open = false;
  int entered = 0;
  int result = 0;
  int flush() {
    std::unique_lock l(m);
    ++entered;
    cv.notify_all();
    cv.wait(l, [this] { return open; });
    return result;
  }
  void wait_entered(int n) {
    std::unique_lock l(m);
    cv.wait(l, [&] { return entered >= n; });
  }
  void release() {
    std::lock_guard l(m);
    open = true;
    cv.notify_all();
  }
};

void wait_requests(const fs::SyncGroup& g, std::uint64_t n) {
  while (g.stats().requests < n) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

TEST(SyncGroup, CallersArrivingDuringAFlushShareTheNextOne) {
  Gate gate;
  fs::SyncGroup group([&] { return gate.flush(); });
  std::vector<Outcome> outcomes(9);
  std::thread first([&] { outcomes[0] = group.flush(); });
  gate.wait_entered(1);  // the first flush runs: it started before the others' calls
  std::vector<std::thread> rest;
  for (int i = 1; i < 9; ++i) rest.emplace_back([&, i] { outcomes[i] = group.flush(); });
  wait_requests(group, 9);
  gate.release();
  first.join();
  for (auto& t : rest) t.join();
  // The 8 late callers were not served by the flush that was running when
  // they called, and one more flush served all of them.
  EXPECT_EQ(gate.entered, 2);
  EXPECT_EQ(group.stats().flushes, 2u);
  EXPECT_EQ(group.stats().requests, 9u);
  for (Outcome o : outcomes) EXPECT_EQ(o, Outcome::Durable);
}

// A flusher that finds callers waiting for the next flush starts it itself,
// on its own thread, instead of waking one of them to do it: no wake-up
// stands between two flushes.
TEST(SyncGroup, AFlusherStartsTheNextFlushForThoseWhoArrivedDuringIts) {
  Gate gate;
  std::mutex m;
  std::vector<std::thread::id> flushed_by;
  fs::SyncGroup group([&] {
    {
      std::lock_guard l(m);
      flushed_by.push_back(std::this_thread::get_id());
    }
    return gate.flush();
  });
  Outcome first_outcome{}, late_outcome{};
  std::thread first([&] { first_outcome = group.flush(); });
  gate.wait_entered(1);
  std::thread late([&] { late_outcome = group.flush(); });
  wait_requests(group, 2);
  gate.release();
  first.join();
  late.join();
  ASSERT_EQ(flushed_by.size(), 2u);
  EXPECT_EQ(flushed_by[0], flushed_by[1]);
  EXPECT_EQ(group.stats().chained, 1u);
  EXPECT_EQ(first_outcome, Outcome::Durable);
  EXPECT_EQ(late_outcome, Outcome::Durable);
}

// A flush that blocks until released one at a time, recording which thread
// made each.
struct Turnstile {
  std::mutex m;
  std::condition_variable cv;
  int entered = 0;
  int allowed = 0;
  std::vector<std::thread::id> by;
  int flush() {
    std::unique_lock l(m);
    by.push_back(std::this_thread::get_id());
    const int mine = ++entered;
    cv.notify_all();
    cv.wait(l, [&] { return allowed >= mine; });
    return 0;
  }
  void wait_entered(int n) {
    std::unique_lock l(m);
    cv.wait(l, [&] { return entered >= n; });
  }
  void release_one() {
    std::lock_guard l(m);
    ++allowed;
    cv.notify_all();
  }
};

// The wake that hands the third window to its own callers: a flusher chains
// once, then wakes one of the callers who arrived during its second flush,
// who flushes for them all; the others sleep on until that flush ends (woken
// all at once, all but one found the flush running and slept again: rewaits).
// A lost wake-up of any window hangs this test.
TEST(SyncGroup, OneCallerOfAThirdWindowIsWokenToFlushForItsOthers) {
  Turnstile gate;
  fs::SyncGroup group([&] { return gate.flush(); });
  std::vector<Outcome> outcomes(5);
  std::vector<std::thread> threads;
  threads.emplace_back([&] { outcomes[0] = group.flush(); });
  gate.wait_entered(1);  // flush 1 runs
  threads.emplace_back([&] { outcomes[1] = group.flush(); });
  wait_requests(group, 2);
  gate.release_one();
  gate.wait_entered(2);  // the first caller chained flush 2 for the second
  for (int i = 2; i < 5; ++i) threads.emplace_back([&, i] { outcomes[i] = group.flush(); });
  wait_requests(group, 5);
  gate.release_one();
  threads[0].join();  // flush 2 served the first two windows
  threads[1].join();
  gate.wait_entered(3);  // one of the late three flushes for all three
  // Woken too, the other two would count a rewait each while flush 3 is held
  // here: give them the time to (a bound, not a measurement).
  for (int i = 0; i < 100 && group.stats().rewaits < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(group.stats().rewaits, 0u);
  gate.release_one();
  for (auto& t : threads)
    if (t.joinable()) t.join();
  ASSERT_EQ(gate.by.size(), 3u);
  EXPECT_EQ(gate.by[0], gate.by[1]);
  EXPECT_NE(gate.by[2], gate.by[0]);
  EXPECT_EQ(group.stats().flushes, 3u);
  EXPECT_EQ(group.stats().chained, 1u);
  for (Outcome o : outcomes) EXPECT_EQ(o, Outcome::Durable);
}

// Many threads each "write" (take the next number) and then flush; the flush
// makes durable what was written when it started. Whoever returns Durable
// must find its own number durable: a waiter released by a flush that started
// before its write, or one never woken (a hang), fails this.
TEST(SyncGroup, NoCallerReturnsBeforeItsWriteIsDurable) {
  std::atomic<std::uint64_t> written{0};
  std::atomic<std::uint64_t> durable{0};
  std::atomic<int> flushes{0};
  fs::SyncGroup group([&] {
    const std::uint64_t upto = written.load();
    if (++flushes % 3 == 0) std::this_thread::yield();  // vary how many callers pile up
    durable.store(upto);
    return 0;
  });
  std::atomic<int> early{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 300; ++i) {
        const std::uint64_t mine = ++written;
        if (group.flush() != Outcome::Durable || durable.load() < mine) ++early;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(early, 0);
  EXPECT_EQ(group.stats().requests, 8u * 300u);
}

TEST(SyncGroup, ALoneCallerFlushesAtOnce) {
  int calls = 0;
  fs::SyncGroup group([&] { return ++calls, 0; });
  EXPECT_EQ(group.flush(), Outcome::Durable);
  EXPECT_EQ(group.flush(), Outcome::Durable);
  EXPECT_EQ(calls, 2);  // a call after a finished flush never reuses it
}

TEST(SyncGroup, AFailedFlushFailsEveryCallerOfItsWindow) {
  Gate gate;
  gate.result = EIO;
  fs::SyncGroup group([&] { return gate.flush(); });
  std::atomic<int> failed{0};
  auto call = [&] {
    try {
      (void)group.flush();
    } catch (const Error& e) {
      EXPECT_EQ(e.id(), "fs.sync");
      EXPECT_EQ(e.system_errno(), EIO);
      ++failed;
    }
  };
  std::thread first(call);
  gate.wait_entered(1);
  std::vector<std::thread> rest;
  for (int i = 0; i < 4; ++i) rest.emplace_back(call);
  wait_requests(group, 5);
  gate.release();
  first.join();
  for (auto& t : rest) t.join();
  EXPECT_EQ(failed, 5);
}

TEST(SyncGroup, ADeclinedFlushSendsItsCallersToTheirOwnSyncs) {
  int result = -1;
  fs::SyncGroup group([&] { return result; });
  EXPECT_EQ(group.flush(), Outcome::OwnSync);
  result = 0;
  EXPECT_EQ(group.flush(), Outcome::Durable);
  EXPECT_EQ(group.stats().declined, 1u);
  EXPECT_EQ(group.stats().flushes, 1u);
}

TEST(SyncGroup, FlushesARealFileSystem) {
  const auto dir = std::filesystem::temp_directory_path();
  fs::SyncGroup group(dir, UINT64_MAX);
  EXPECT_EQ(group.flush(), Outcome::Durable);
  EXPECT_EQ(group.stats().flushes, 1u);
}

TEST(SyncGroup, SuitsOnlyALocalFileSystem) {
  EXPECT_FALSE(fs::SyncGroup::suits("/nonexistent/beamflow-sync-group"));
  EXPECT_FALSE(fs::SyncGroup::suits("/proc"));  // procfs: not a disk's file system
}

TEST(SyncGroup, RefusesAMissingDirectory) {
  try {
    fs::SyncGroup group("/nonexistent/beamflow-sync-group");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.id(), "fs.sync");
    EXPECT_EQ(e.system_errno(), ENOENT);
  }
}

}  // namespace
}  // namespace beamflow
