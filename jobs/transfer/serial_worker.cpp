#include "jobs/transfer/serial_worker.hpp"

#include <utility>

namespace beamflow::transfer {

SerialWorker::SerialWorker() : m_thread([this] { run(); }) {}

SerialWorker::~SerialWorker() {
  std::deque<Job> dropped;  // destroyed after the thread ends, outside the lock
  {
    const std::lock_guard lock(m_mutex);
    m_stop = true;
    dropped.swap(m_queue);
  }
  m_changed.notify_all();
  m_thread.join();
}

void SerialWorker::post(Job job) {
  {
    const std::lock_guard lock(m_mutex);
    if (m_error) return;  // `job` is destroyed by the caller, after the lock
    m_queue.push_back(std::move(job));
  }
  m_changed.notify_all();
}

void SerialWorker::wait() {
  std::unique_lock lock(m_mutex);
  m_changed.wait(lock, [&] { return m_queue.empty() && !m_running; });
  if (m_error) std::rethrow_exception(std::exchange(m_error, nullptr));
}

std::exception_ptr SerialWorker::take_error() {
  const std::lock_guard lock(m_mutex);
  return std::exchange(m_error, nullptr);
}

void SerialWorker::run() {
  std::unique_lock lock(m_mutex);
  for (;;) {
    m_changed.wait(lock, [&] { return m_stop || !m_queue.empty(); });
    if (m_stop) return;
    Job job = std::move(m_queue.front());
    m_queue.pop_front();
    m_running = true;
    lock.unlock();
    std::exception_ptr error;
    try {
      job();
    } catch (...) {
      error = std::current_exception();
    }
    job = nullptr;  // what it holds is released before wait() returns
    std::deque<Job> dropped;
    lock.lock();
    if (error) {
      if (!m_error) m_error = error;
      dropped.swap(m_queue);
      // Destroyed unlocked (a job's captures may take their owner's lock),
      // still before the worker is seen idle.
      lock.unlock();
      dropped.clear();
      lock.lock();
    }
    m_running = false;
    m_changed.notify_all();
  }
}

}  // namespace beamflow::transfer
