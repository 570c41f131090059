#pragma once
// Reads a watcher's inotify events on a thread of its own into a bounded
// queue, so the kernel's queue (fs.inotify.max_queued_events, 16,384 by
// default) does not overflow while the watcher's loop is busy handing files
// over or rescanning: an overflow costs a rescan of every watched directory,
// O(files), which made a loaded watcher fall further behind (bench/RESULTS.md,
// issue 11). The thread only reads: no stat, no hand-off.
//
// When the queue is full, events are dropped and an IN_Q_OVERFLOW event is
// queued after those kept, exactly as the kernel does: the watcher then
// rescans, after the dropped events happened, so nothing is missed; the
// ledger (pilot/intake.hpp) makes the files seen twice no-ops.
//
// fd() is readable while events are queued. The thread is started by the
// constructor and stopped and joined by the destructor (also when the
// owner's constructor throws after this member was made).
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "platform/events.hpp"

namespace beamflow::triggers {

class EventDrain {
 public:
  static constexpr std::size_t kDefaultCapacity = std::size_t{1} << 18;
  // `inotify` outlives this object. `capacity`: events queued at most.
  EventDrain(fs::DirWatch& inotify, std::size_t capacity = kDefaultCapacity);
  ~EventDrain();
  EventDrain(const EventDrain&) = delete;
  EventDrain& operator=(const EventDrain&) = delete;

  int fd() const noexcept { return m_ready.fd(); }
  // Takes at most `max_events` queued events; never blocks. Rethrows the
  // thread's error (a failed read of the inotify descriptor).
  std::vector<fs::DirWatch::Event> take(std::size_t max_events);
  // Times this queue was full (each queued an IN_Q_OVERFLOW).
  std::uint64_t overflows() const;

 private:
  void work();
  void push(std::vector<fs::DirWatch::Event>& events);

  fs::DirWatch& m_inotify;
  const std::size_t m_capacity;
  fs::Wakeup m_ready, m_stop;
  mutable std::mutex m_mutex;
  std::deque<fs::DirWatch::Event> m_queue;
  bool m_overflowed = false;  // an IN_Q_OVERFLOW is queued and not yet taken
  std::uint64_t m_overflows = 0;
  std::exception_ptr m_error;
  std::thread m_thread;  // last: started once the rest is made
};

}  // namespace beamflow::triggers
