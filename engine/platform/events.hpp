#pragma once
// What the driver waits on, from the OS: an epoll set of descriptors, an
// inotify watch of directories, and an eventfd to be woken from another
// thread (or by a receiver of messages from other ranks). Linux only, as the
// rest of beamflow's durability code.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "platform/posix_file.hpp"

namespace beamflow::fs {

// An epoll(7) set: descriptors with a token each.
class Poller {
 public:
  Poller();
  // The epoll descriptor itself: readable when one of the set is, so a
  // Poller can be one source in another's set (triggers/watcher.hpp).
  int fd() const noexcept { return m_fd.get(); }
  // Watches `fd` for readability; `token` comes back from wait().
  void add(int fd, std::uint64_t token);
  void remove(int fd) noexcept;
  // Waits up to `timeout_ms` (0: do not block; < 0: forever) and returns the
  // tokens of the readable descriptors (empty on timeout or EINTR).
  std::vector<std::uint64_t> wait(std::int64_t timeout_ms);

 private:
  detail::UniqueFd m_fd;
};

// An inotify(7) instance watching directories for files moved into them
// (IN_MOVED_TO: how every durable file here is replaced) and, optionally,
// for any file closed after writing.
class DirWatch {
 public:
  DirWatch();
  // An instance, or none when the user holds every inotify instance allowed
  // (fs.inotify.max_user_instances, shared by all their processes): watches
  // only wake a wait early, so each caller falls back to looking at its own
  // pace. `why`, if given, receives the reason.
  static std::optional<DirWatch> try_open(std::string* why = nullptr);
  int fd() const noexcept { return m_fd.get(); }
  // Returns a watch descriptor, or -1 when the directory cannot be watched
  // (gone, or the inotify limit reached): the caller falls back to polling.
  int watch(const std::filesystem::path& dir) noexcept;
  void unwatch(int wd) noexcept;
  // Reads every pending event; returns the watch descriptors that saw one.
  std::vector<int> drain();

  // The full form, for file watchers (triggers/watcher.hpp): a watch with
  // the given inotify mask, returning the watch descriptor or -errno
  // (-ENOSPC: the max_user_watches limit), and the events themselves.
  // IN_Q_OVERFLOW comes back as an event with wd -1.
  struct Event {
    int wd = -1;
    std::uint32_t mask = 0;
    std::string name;  // the entry's name in the watched directory, if any
  };
  int watch(const std::filesystem::path& dir, std::uint32_t mask) noexcept;
  // Reads at most `max_events` pending events (fewer when the queue is
  // empty first); never blocks.
  std::vector<Event> read(std::size_t max_events);

 private:
  detail::UniqueFd m_fd;
};

// A timerfd on CLOCK_REALTIME: readable once the absolute instant it is
// armed for has passed (until drain()).
class Timer {
 public:
  Timer();
  int fd() const noexcept { return m_fd.get(); }
  // Arms for `epoch_ms` (milliseconds since the Unix epoch); < 0 disarms.
  void arm_at(std::int64_t epoch_ms);
  void drain() noexcept;

 private:
  detail::UniqueFd m_fd;
};

// An eventfd: notify() from any thread makes fd() readable until drain().
class Wakeup {
 public:
  Wakeup();
  int fd() const noexcept { return m_fd.get(); }
  void notify() noexcept;
  void drain() noexcept;

 private:
  detail::UniqueFd m_fd;
};

}  // namespace beamflow::fs
