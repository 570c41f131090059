#include "triggers/event_drain.hpp"

#include <sys/inotify.h>

#include <algorithm>

namespace beamflow::triggers {

EventDrain::EventDrain(fs::DirWatch& inotify, std::size_t capacity)
    : m_inotify(inotify), m_capacity(std::max<std::size_t>(capacity, 1)), m_thread([this] { work(); }) {}

EventDrain::~EventDrain() {
  m_stop.notify();
  m_thread.join();
}

void EventDrain::work() {
  constexpr std::uint64_t kEvents = 1, kStop = 2;
  constexpr std::size_t kRead = 4096;  // events a lock
  try {
    fs::Poller poller;
    poller.add(m_inotify.fd(), kEvents);
    poller.add(m_stop.fd(), kStop);
    for (;;) {
      for (const auto token : poller.wait(-1)) {
        if (token == kStop) return;
      }
      // One read a wake-up (epoll is level-triggered: more comes back at
      // once), so a stop is seen even while writers never pause.
      if (auto events = m_inotify.read(kRead); !events.empty()) push(events);
    }
  } catch (...) {
    // Handed to the watcher's loop by take(); this thread stops reading, so
    // the kernel's queue overflows meanwhile, as without this thread.
    {
      const std::lock_guard lock(m_mutex);
      m_error = std::current_exception();
    }
    m_ready.notify();
  }
}

void EventDrain::push(std::vector<fs::DirWatch::Event>& events) {
  bool was_empty;
  {
    const std::lock_guard lock(m_mutex);
    was_empty = m_queue.empty();
    for (auto& e : events) {
      if (m_overflowed) break;  // dropped until the overflow is taken: the rescan after it sees them
      if (m_queue.size() + 1 >= m_capacity) {  // one slot kept for the overflow
        fs::DirWatch::Event overflow;
        overflow.mask = IN_Q_OVERFLOW;
        m_queue.push_back(std::move(overflow));
        m_overflowed = true;
        ++m_overflows;
        break;
      }
      m_queue.push_back(std::move(e));
    }
  }
  if (was_empty) m_ready.notify();
}

std::vector<fs::DirWatch::Event> EventDrain::take(std::size_t max_events) {
  // Drained before the queue is looked at: an event pushed after this
  // look makes fd() readable again.
  m_ready.drain();
  std::vector<fs::DirWatch::Event> out;
  bool more;
  {
    const std::lock_guard lock(m_mutex);
    if (m_error) std::rethrow_exception(m_error);
    const std::size_t n = std::min(max_events, m_queue.size());
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      if (m_queue.front().mask & IN_Q_OVERFLOW) m_overflowed = false;
      out.push_back(std::move(m_queue.front()));
      m_queue.pop_front();
    }
    more = !m_queue.empty();
  }
  if (more) m_ready.notify();  // the rest at the next wake-up
  return out;
}

std::uint64_t EventDrain::overflows() const {
  const std::lock_guard lock(m_mutex);
  return m_overflows;
}

}  // namespace beamflow::triggers
