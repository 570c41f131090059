#include "platform/signals.hpp"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.hpp"

namespace beamflow::fs {

SignalEvents::SignalEvents(std::initializer_list<int> signals) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : signals) sigaddset(&set, s);
  if (pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0)
    throw Error("platform.signals", states_error::Runtime, "cannot block signals");
  const int fd = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0)
    throw Error("platform.signals", states_error::Runtime, std::string("signalfd failed: ") + std::strerror(errno));
  m_fd = detail::UniqueFd(fd);
}

SignalEvents::~SignalEvents() = default;

std::vector<int> SignalEvents::drain() {
  std::vector<int> out;
  signalfd_siginfo info;
  while (::read(m_fd.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info))
    out.push_back(static_cast<int>(info.ssi_signo));
  return out;
}

}  // namespace beamflow::fs
