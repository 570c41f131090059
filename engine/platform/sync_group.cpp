#include "platform/sync_group.hpp"

#include <fcntl.h>
#include <linux/futex.h>
#include <linux/magic.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <utility>

#include "platform/posix_file.hpp"

namespace beamflow::fs {
namespace {

// Dirty + Writeback of the whole system, in bytes (an upper bound on any one
// file system's); UINT64_MAX when /proc/meminfo cannot be read, so the group
// then declines rather than flush blind.
std::uint64_t dirty_bytes() {
  std::FILE* f = std::fopen("/proc/meminfo", "re");
  if (!f) return UINT64_MAX;
  char line[128];
  std::uint64_t total = 0;
  int found = 0;
  while (found < 2 && std::fgets(line, sizeof line, f)) {
    unsigned long long kb = 0;
    if (std::sscanf(line, "Dirty: %llu kB", &kb) == 1 || std::sscanf(line, "Writeback: %llu kB", &kb) == 1) {
      total += kb * 1024;
      ++found;
    }
  }
  std::fclose(f);
  return found == 2 ? total : UINT64_MAX;
}

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t) &&
              std::atomic<std::uint32_t>::is_always_lock_free);

// Sleeps while `word` still holds `seen`. Returns when woken, at once when the
// word has changed, or on a signal: the caller looks at the state again.
// The futex directly, not std::atomic::wait: libstdc++ 12 spins and then
// calls sched_yield 4 times before it sleeps, each a system call (~3 us on
// the PVM guest) taken from the other busy drivers.
void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t seen) {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE, seen, nullptr, nullptr, 0);
}

// Wakes at most `n` sleepers of `word`; returns how many it woke.
std::uint32_t futex_wake(std::atomic<std::uint32_t>& word, int n) {
  const long woken = ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, n, nullptr, nullptr, 0);
  return woken > 0 ? static_cast<std::uint32_t>(woken) : 0;
}

}  // namespace

SyncGroup::SyncGroup(const std::filesystem::path& dir, std::uint64_t max_dirty_bytes) : m_dir(dir) {
  m_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (m_fd < 0) detail::throw_system_error("fs.sync", "cannot open the directory to flush", dir, errno);
  m_flush = [fd = m_fd, max_dirty_bytes] {
    if (dirty_bytes() > max_dirty_bytes) return -1;
    return ::syncfs(fd) == 0 ? 0 : errno;
  };
}

SyncGroup::SyncGroup(std::function<int()> flush) : m_flush(std::move(flush)) {}

SyncGroup::~SyncGroup() {
  if (m_fd >= 0) ::close(m_fd);
}

bool SyncGroup::suits(const std::filesystem::path& dir) {
  struct statfs st {};
  if (::statfs(dir.c_str(), &st) != 0) return false;
  switch (static_cast<unsigned long>(st.f_type)) {
    case EXT4_SUPER_MAGIC:  // also ext2 and ext3
    case XFS_SUPER_MAGIC:
    case BTRFS_SUPER_MAGIC:
    case TMPFS_MAGIC: return true;
    default: return false;
  }
}

void SyncGroup::wake(int parity, bool one) {
  if (m_sleepers[parity] == 0) return;
  m_wake[parity].fetch_add(1, std::memory_order_release);
  if (!one) {
    m_sleepers[parity] = 0;
    futex_wake(m_wake[parity], INT_MAX);
    return;
  }
  // The others stay counted: the flush the woken one makes wakes them.
  m_sleepers[parity] -= std::min(m_sleepers[parity], futex_wake(m_wake[parity], 1));
}

SyncGroup::Outcome SyncGroup::outcome_of(std::uint64_t need) const {
  // Conservative: any failure since this caller's flush started means its
  // writes may be lost (a later success does not bring back dropped pages).
  if (m_failed.load(std::memory_order_acquire) >= need)
    detail::throw_system_error("fs.sync", "cannot flush the file system (syncfs)", m_dir,
                               m_failed_errno.load(std::memory_order_relaxed));
  return m_succeeded.load(std::memory_order_acquire) >= need ? Outcome::Durable : Outcome::OwnSync;
}

SyncGroup::Outcome SyncGroup::flush() {
  std::unique_lock lock(m_mutex);
  ++m_stats.requests;
  // The first flush to start after this call; the one running now (if any)
  // may have started before this caller's writes.
  const std::uint64_t need = m_started + 1;
  m_wanted = std::max(m_wanted, need);
  bool woken = false;
  while (m_finished.load(std::memory_order_relaxed) < need) {
    if (m_running) {
      if (woken) ++m_stats.rewaits;
      // Counted and read under the mutex, so a flush's end that bumps the
      // word after this either finds this caller counted or changes the
      // word before the caller sleeps on it (the futex then returns at once).
      const int parity = static_cast<int>(need % 2);
      ++m_sleepers[parity];
      const std::uint32_t seen = m_wake[parity].load(std::memory_order_relaxed);
      lock.unlock();
      futex_wait(m_wake[parity], seen);
      if (m_finished.load(std::memory_order_acquire) >= need) return outcome_of(need);
      woken = true;  // the next window's wake (see the header), or a signal
      lock.lock();
      continue;
    }
    // No flush running: this caller flushes for everyone waiting, and once
    // more for those who arrived during that flush (see the header).
    for (int round = 0; round < 2; ++round) {
      m_running = true;
      const std::uint64_t gen = ++m_started;
      if (round == 1) ++m_stats.chained;
      lock.unlock();
      const int result = m_flush();
      lock.lock();
      m_running = false;
      if (result == 0) {
        m_succeeded.store(gen, std::memory_order_relaxed);
        ++m_stats.flushes;
      } else if (result < 0) {
        ++m_stats.declined;
      } else {
        ++m_stats.flushes;
        m_failed_errno.store(result, std::memory_order_relaxed);
        m_failed.store(gen, std::memory_order_relaxed);
      }
      m_finished.store(gen, std::memory_order_release);  // publishes the results above
      wake(static_cast<int>(gen % 2));
      if (m_wanted <= gen) break;  // nobody needs the next flush
      if (round == 1) {
        // Chained once already: one of the next window's waiters flushes
        // for them (see the header).
        wake(static_cast<int>((gen + 1) % 2), /*one=*/true);
      }
    }
  }
  lock.unlock();
  return outcome_of(need);
}

SyncGroup::Stats SyncGroup::stats() const {
  std::lock_guard lock(m_mutex);
  return m_stats;
}

}  // namespace beamflow::fs
