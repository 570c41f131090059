#include "platform/sync_group.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
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

SyncGroup::Outcome SyncGroup::flush() {
  std::unique_lock lock(m_mutex);
  ++m_stats.requests;
  // The first flush to start after this call; the one running now (if any)
  // may have started before this caller's writes.
  const std::uint64_t need = m_started + 1;
  m_wanted = std::max(m_wanted, need);
  bool woken = false;
  while (m_finished < need) {
    if (m_running) {
      if (woken) ++m_stats.rewaits;
      m_done_cv[need % 2].wait(lock);
      woken = true;
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
      m_finished = gen;
      if (result == 0) {
        m_succeeded = gen;
        ++m_stats.flushes;
      } else if (result < 0) {
        ++m_stats.declined;
      } else {
        ++m_stats.flushes;
        m_failed = gen;
        m_failed_errno = result;
      }
      m_done_cv[gen % 2].notify_all();
      if (m_wanted <= gen) break;  // nobody needs the next flush
      if (round == 1) {
        // Chained once already: the next window's waiters start their own.
        m_done_cv[(gen + 1) % 2].notify_all();
      }
    }
  }
  // Conservative: any failure since this caller's flush started means its
  // writes may be lost (a later success does not bring back dropped pages).
  if (m_failed >= need) {
    const int err = m_failed_errno;
    lock.unlock();
    detail::throw_system_error("fs.sync", "cannot flush the file system (syncfs)", m_dir, err);
  }
  return m_succeeded >= need ? Outcome::Durable : Outcome::OwnSync;
}

SyncGroup::Stats SyncGroup::stats() const {
  std::lock_guard lock(m_mutex);
  return m_stats;
}

}  // namespace beamflow::fs
