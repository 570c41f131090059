#include "pilot/driver_threads.hpp"

#include <utility>

namespace beamflow::pilot {

DriverThreads::~DriverThreads() {
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_stopping = true;
  }
  m_cv.notify_all();
  for (auto& t : m_threads) t.join();
}

void DriverThreads::run(std::function<void()> job) {
  std::lock_guard<std::mutex> lock(m_mutex);
  m_jobs.push_back(std::move(job));
  // Each queued job has a waiting thread of its own (an idle one claimed
  // here, or a new one), so none waits behind a long run.
  if (m_idle > 0) {
    --m_idle;
    m_cv.notify_one();
  } else {
    m_threads.emplace_back([this] { loop(); });
  }
}

std::size_t DriverThreads::threads() const {
  std::lock_guard<std::mutex> lock(m_mutex);
  return m_threads.size();
}

std::size_t DriverThreads::idle() const {
  std::lock_guard<std::mutex> lock(m_mutex);
  return m_idle;
}

void DriverThreads::loop() {
  std::unique_lock<std::mutex> lock(m_mutex);
  while (true) {
    m_cv.wait(lock, [this] { return !m_jobs.empty() || m_stopping; });
    if (m_jobs.empty()) return;  // stopping, and nothing left to run
    auto job = std::move(m_jobs.front());
    m_jobs.pop_front();
    lock.unlock();
    job();
    job = nullptr;  // what it holds goes before the thread counts as idle
    lock.lock();
    ++m_idle;
  }
}

}  // namespace beamflow::pilot
