#include "parallel/mailbox.hpp"

#include <mpi.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "core/error.hpp"

namespace beamflow::parallel {
namespace {
constexpr int kTag = 7177;
}

struct Mailbox::State {
  int rank = 0, size = 1;
  int event_fd = -1;
  std::mutex mutex;
  std::condition_variable cv;
  std::deque<std::pair<int, std::string>> outgoing;
  std::deque<std::pair<int, std::string>> inbox;
  bool closing = false;
  std::thread thread;

  struct Pending {
    MPI_Request request;
    std::string bytes;
  };

  void loop(std::promise<void>& ready) {
    int provided = 0;
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
      ready.set_exception(std::make_exception_ptr(
          Error("parallel.mailbox", states_error::Runtime, "MPI_Init_thread failed")));
      return;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    ready.set_value();
    std::deque<Pending> sending;
    using Clock = std::chrono::steady_clock;
    // Right after a message the thread checks again within 50 us (a task's
    // round trip stays well under a millisecond); each look that finds
    // nothing doubles the wait, to 400 us while messages flow and, after
    // 20 ms without any, to 2 ms, so an idle rank costs next to no CPU.
    // Why not 50 us throughout: a rank whose messages come every
    // millisecond or so (one-task flows) woke ~20 times a message, and a
    // wake-up is a futex wait and a context switch, costly in a VM (on the
    // 2-core PVM guest the two ranks' mailbox threads were ~18% of a
    // 10,000-flow run's CPU). A send wakes the thread at once anyway.
    constexpr auto kQuick = std::chrono::microseconds(50), kFlowing = std::chrono::microseconds(400),
                   kIdle = std::chrono::microseconds(2000);
    constexpr auto kQuickFor = std::chrono::milliseconds(20);
    auto backoff = kQuick;
    auto last_activity = Clock::now();
    while (true) {
      bool busy = false;
      std::deque<std::pair<int, std::string>> out;
      bool stop = false;
      {
        std::lock_guard<std::mutex> lock(mutex);
        out.swap(outgoing);
        stop = closing;
      }
      for (auto& [to, bytes] : out) {
        sending.push_back({MPI_REQUEST_NULL, std::move(bytes)});
        Pending& p = sending.back();
        MPI_Isend(p.bytes.data(), static_cast<int>(p.bytes.size()), MPI_CHAR, to, kTag, MPI_COMM_WORLD, &p.request);
        busy = true;
      }
      while (!sending.empty()) {
        int done = 0;
        MPI_Test(&sending.front().request, &done, MPI_STATUS_IGNORE);
        if (!done) break;
        sending.pop_front();
      }
      for (;;) {
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, kTag, MPI_COMM_WORLD, &flag, &st);
        if (!flag) break;
        int count = 0;
        MPI_Get_count(&st, MPI_CHAR, &count);
        std::string bytes(static_cast<std::size_t>(count), '\0');
        MPI_Recv(bytes.data(), count, MPI_CHAR, st.MPI_SOURCE, kTag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        {
          std::lock_guard<std::mutex> lock(mutex);
          inbox.emplace_back(st.MPI_SOURCE, std::move(bytes));
        }
        const std::uint64_t one = 1;
        [[maybe_unused]] const auto n = ::write(event_fd, &one, sizeof one);
        busy = true;
      }
      if (stop && sending.empty()) {
        std::lock_guard<std::mutex> lock(mutex);
        if (outgoing.empty()) break;
        continue;
      }
      if (busy) {
        backoff = kQuick;
        last_activity = Clock::now();
        continue;
      }
      std::unique_lock<std::mutex> lock(mutex);
      cv.wait_for(lock, backoff, [&] { return !outgoing.empty() || closing; });
      const auto cap = Clock::now() - last_activity > kQuickFor ? kIdle : kFlowing;
      backoff = std::min<std::chrono::microseconds>(backoff * 2, cap);
    }
    MPI_Finalize();
  }
};

Mailbox::Mailbox() : m(std::make_unique<State>()) {
  m->event_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (m->event_fd < 0) throw Error("parallel.mailbox", states_error::Runtime, "eventfd failed");
  std::promise<void> ready;
  auto started = ready.get_future();
  m->thread = std::thread([this, &ready] { m->loop(ready); });
  try {
    started.get();
  } catch (...) {
    m->thread.join();
    throw;
  }
}

Mailbox::~Mailbox() {
  close();
  ::close(m->event_fd);
}

int Mailbox::rank() const noexcept { return m->rank; }
int Mailbox::size() const noexcept { return m->size; }
int Mailbox::fd() const noexcept { return m->event_fd; }

void Mailbox::send(int to, std::string bytes) {
  {
    std::lock_guard<std::mutex> lock(m->mutex);
    m->outgoing.emplace_back(to, std::move(bytes));
  }
  m->cv.notify_one();
}

std::vector<std::pair<int, std::string>> Mailbox::receive() {
  std::uint64_t n = 0;
  [[maybe_unused]] const auto r = ::read(m->event_fd, &n, sizeof n);
  std::lock_guard<std::mutex> lock(m->mutex);
  std::vector<std::pair<int, std::string>> out(std::make_move_iterator(m->inbox.begin()),
                                               std::make_move_iterator(m->inbox.end()));
  m->inbox.clear();
  return out;
}

void Mailbox::close() {
  if (!m->thread.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(m->mutex);
    m->closing = true;
  }
  m->cv.notify_one();
  m->thread.join();
}

}  // namespace beamflow::parallel
