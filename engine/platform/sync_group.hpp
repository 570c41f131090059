#pragma once
// Group commit for the threads of one process: many callers that each need
// "the writes I made are durable" share one flush of the file system.
//
// A caller writes (appends to a journal, writes and renames files, creates
// directories) and then calls flush(), which returns once a flush that
// *started after the call* has completed: whatever the caller wrote before
// the call is then on stable storage, data and names alike. The first caller
// that finds no flush running flushes for every caller waiting at that
// moment; callers arriving while it runs are served by the next one. So N
// drivers committing at once cost about two flushes, not N fdatasyncs, and a
// lone caller pays one flush, never a timer.
//
// The flush is syncfs(2) of the file system holding the directory given at
// construction. syncfs writes back *every* dirty page of that file system,
// other programs' too (a reconstruction writing its volume, a build), and a
// commit would then wait for them. That is bounded: before each flush the
// flusher reads the system's dirty + writeback bytes (/proc/meminfo, an upper
// bound on this file system's share) and, above `max_dirty_bytes`, flushes
// nothing and answers Outcome::OwnSync to that window's callers, who then sync
// their own files (fsync/fdatasync: their data only), as without a group.
// The waits are counted (stats()).
//
// Errors: a failed syncfs reports a write-back error of the file system
// (Linux >= 5.8 reports each error to every descriptor opened before it);
// every caller whose flush window saw a failure gets Error "fs.sync" with the
// errno, and must treat its writes as lost, as after a failed fdatasync.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>

namespace beamflow::fs {

class SyncGroup {
 public:
  enum class Outcome {
    Durable,  // a flush that started after the call completed: the writes are durable
    OwnSync,  // the file system had too much unrelated dirty data: sync your own files
  };
  struct Stats {
    std::uint64_t requests = 0;  // flush() calls
    std::uint64_t flushes = 0;   // syncfs calls made for them
    std::uint64_t declined = 0;  // windows answered OwnSync
    std::uint64_t rewaits = 0;   // waiters woken to find their flush not yet done
    std::uint64_t chained = 0;   // flushes started by a flusher right after its own
  };
  static constexpr std::uint64_t kDefaultMaxDirtyBytes = 64ull << 20;

  // Opens `dir` (an existing directory on the file system to flush). Throws
  // Error "fs.sync" when it cannot be opened.
  explicit SyncGroup(const std::filesystem::path& dir,
                     std::uint64_t max_dirty_bytes = kDefaultMaxDirtyBytes);
  // A group whose flush is `flush` (tests): it returns 0 (done), -1 (declined:
  // the callers sync their own files) or an errno (failed).
  explicit SyncGroup(std::function<int()> flush);
  SyncGroup(const SyncGroup&) = delete;
  SyncGroup& operator=(const SyncGroup&) = delete;
  ~SyncGroup();

  // Whether `dir` is on a local file system whose syncfs(2) is one journal
  // commit of that disk (ext4, xfs, btrfs; tmpfs, where it is free). On a
  // network or parallel file system (NFS, Lustre, GPFS, BeeGFS, ...) syncfs
  // flushes a whole client mount or asks every storage target, and the
  // callers are better off syncing their own files: false there, and when
  // statfs fails.
  static bool suits(const std::filesystem::path& dir);

  // Blocks until a flush that started after this call has completed (see
  // above). Thread-safe. Throws Error "fs.sync" when that flush, or one
  // after it that this caller waited for, failed.
  [[nodiscard]] Outcome flush();
  Stats stats() const;

 private:
  int m_fd = -1;
  std::filesystem::path m_dir;
  // The flush itself: 0 (done), -1 (declined: too much dirty data) or an errno.
  std::function<int()> m_flush;
  mutable std::mutex m_mutex;
  // Waiters sleep on the futex word of their flush's generation parity: a
  // flush's end wakes only the callers it served. A flusher that finds
  // callers waiting for the next flush starts it itself, once, on the CPU it
  // already has, and only then returns: waking one of them instead put a
  // wake-up between every two flushes, and on 2 busy cores that can be a
  // whole time slice (4674674 woke one and was slower in the pilot,
  // bench/RESULTS.md, "Group commit wakes by generation"). After its second
  // flush it wakes one waiter of the next window, who flushes for them all
  // (waking all of them, as before, woke all but one only to sleep again):
  // a caller waits for at most two flushes of its own besides the one
  // running when it called.
  // A woken caller reads its flush's result from the atomics below and
  // returns without the mutex: with a condition variable each of a window's
  // callers took the mutex again in turn after the broadcast, one wake-up
  // after another on a contended lock (3.6% of the pilot's rank 0 in
  // 10,000 one-task flows).
  std::atomic<std::uint32_t> m_wake[2] = {0, 0};  // futex words: bumped when their parity's waiters are woken
  std::uint32_t m_sleepers[2] = {0, 0};           // callers asleep on each word (under m_mutex)
  bool m_running = false;
  std::uint64_t m_started = 0;                  // generation of the last flush started
  std::atomic<std::uint64_t> m_finished{0};     // generation of the last flush finished
  std::uint64_t m_wanted = 0;                   // the highest generation a caller needs
  std::atomic<std::uint64_t> m_failed{0};       // generation of the last failed flush (0: none)
  std::atomic<int> m_failed_errno{0};
  std::atomic<std::uint64_t> m_succeeded{0};    // generation of the last flush that made everything durable
  // The caller's answer once m_finished >= need (no mutex needed).
  Outcome outcome_of(std::uint64_t need) const;
  // Wakes every caller asleep on `parity`'s word, or one of them (under m_mutex).
  void wake(int parity, bool one = false);
  Stats m_stats;
};

}  // namespace beamflow::fs
