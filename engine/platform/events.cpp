#include "platform/events.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>

#include "core/error.hpp"

namespace beamflow::fs {
namespace {

[[noreturn]] void fail(const char* what, int err) { detail::throw_system_error("fs.events", what, {}, err); }

}  // namespace

Poller::Poller() : m_fd(::epoll_create1(EPOLL_CLOEXEC)) {
  if (!m_fd) fail("cannot create an epoll set", errno);
}

void Poller::add(int fd, std::uint64_t token) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = token;
  if (::epoll_ctl(m_fd.get(), EPOLL_CTL_ADD, fd, &ev) != 0) fail("cannot watch a descriptor", errno);
}

void Poller::remove(int fd) noexcept { ::epoll_ctl(m_fd.get(), EPOLL_CTL_DEL, fd, nullptr); }

std::vector<std::uint64_t> Poller::wait(std::int64_t timeout_ms) {
  epoll_event events[16];
  const int timeout = timeout_ms < 0 ? -1 : static_cast<int>(std::min<std::int64_t>(timeout_ms, INT_MAX));
  const int n = ::epoll_wait(m_fd.get(), events, 16, timeout);
  std::vector<std::uint64_t> out;
  if (n < 0) {
    if (errno == EINTR) return out;
    fail("cannot wait for events", errno);
  }
  for (int i = 0; i < n; ++i) out.push_back(events[i].data.u64);
  return out;
}

DirWatch::DirWatch() : m_fd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
  // EMFILE here is most often the user's instance limit, which strerror's
  // "Too many open files" does not suggest.
  if (!m_fd)
    fail(errno == EMFILE ? "cannot create an inotify instance (fs.inotify.max_user_instances reached for this user, "
                           "or this process is out of descriptors)"
                         : "cannot create an inotify instance",
         errno);
}

std::optional<DirWatch> DirWatch::try_open(std::string* why) {
  try {
    return DirWatch();
  } catch (const Error& e) {
    if (why) *why = e.what();
    return std::nullopt;
  }
}

int DirWatch::watch(const std::filesystem::path& dir) noexcept {
  return ::inotify_add_watch(m_fd.get(), dir.c_str(), IN_MOVED_TO | IN_ONLYDIR);
}

void DirWatch::unwatch(int wd) noexcept {
  if (wd >= 0) ::inotify_rm_watch(m_fd.get(), wd);
}

std::vector<int> DirWatch::drain() {
  std::vector<int> out;
  alignas(inotify_event) char buffer[8192];
  for (;;) {
    const ssize_t n = ::read(m_fd.get(), buffer, sizeof buffer);
    if (n <= 0) break;  // EAGAIN: drained
    for (ssize_t at = 0; at < n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buffer + at);
      if (!(ev->mask & IN_IGNORED)) out.push_back(ev->wd);
      at += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
    }
  }
  return out;
}

int DirWatch::watch(const std::filesystem::path& dir, std::uint32_t mask) noexcept {
  const int wd = ::inotify_add_watch(m_fd.get(), dir.c_str(), mask);
  return wd >= 0 ? wd : -errno;
}

std::vector<DirWatch::Event> DirWatch::read(std::size_t max_events) {
  std::vector<Event> out;
  alignas(inotify_event) char buffer[65536];
  while (out.size() < max_events) {
    const ssize_t n = ::read(m_fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) fail("cannot read inotify events", errno);
    if (n <= 0) break;  // EAGAIN: drained
    for (ssize_t at = 0; at < n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buffer + at);
      Event e;
      e.wd = ev->wd;
      e.mask = ev->mask;
      if (ev->len > 0) e.name = ev->name;  // NUL-padded
      out.push_back(std::move(e));
      at += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
    }
  }
  return out;
}

Timer::Timer() : m_fd(::timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC)) {
  if (!m_fd) fail("cannot create a timerfd", errno);
}

void Timer::arm_at(std::int64_t epoch_ms) {
  itimerspec spec{};
  if (epoch_ms >= 0) {
    // 0 would disarm: the epoch itself is one nanosecond later.
    spec.it_value.tv_sec = epoch_ms / 1000;
    spec.it_value.tv_nsec = (epoch_ms % 1000) * 1000000 + (epoch_ms == 0 ? 1 : 0);
  }
  if (::timerfd_settime(m_fd.get(), TFD_TIMER_ABSTIME, &spec, nullptr) != 0) fail("cannot arm a timerfd", errno);
}

void Timer::drain() noexcept {
  std::uint64_t expirations;
  [[maybe_unused]] const ssize_t n = ::read(m_fd.get(), &expirations, sizeof expirations);
}

Wakeup::Wakeup() : m_fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (!m_fd) fail("cannot create an eventfd", errno);
}

void Wakeup::notify() noexcept {
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(m_fd.get(), &one, sizeof one);
}

void Wakeup::drain() noexcept {
  std::uint64_t value;
  [[maybe_unused]] const ssize_t n = ::read(m_fd.get(), &value, sizeof value);
}

}  // namespace beamflow::fs
