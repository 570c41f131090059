#pragma once
// Signals as events: the listed signals are blocked in the calling thread
// (and in every thread it starts afterwards) and become readable on a
// signalfd(2), so a loop that waits with epoll sees them between two turns
// instead of in a handler. Create it before starting any thread.
#include <initializer_list>
#include <vector>

#include "platform/posix_file.hpp"

namespace beamflow::fs {

class SignalEvents {
 public:
  explicit SignalEvents(std::initializer_list<int> signals);
  ~SignalEvents();
  int fd() const noexcept { return m_fd.get(); }
  // The signals received since the last call (never blocks).
  std::vector<int> drain();

 private:
  detail::UniqueFd m_fd;
};

}  // namespace beamflow::fs
