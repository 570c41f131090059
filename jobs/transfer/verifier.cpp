#include "jobs/transfer/verifier.hpp"

namespace beamflow::transfer {

ChunkVerifier::ChunkVerifier(Hash hash) : m_hash(std::move(hash)) {
  m_thread = std::thread([this] { run(); });
}

ChunkVerifier::~ChunkVerifier() {
  {
    const std::lock_guard lock(m_mutex);
    m_stop = true;
  }
  m_changed.notify_all();
  m_thread.join();
}

void ChunkVerifier::check(std::uint64_t index, std::string expected) {
  {
    const std::lock_guard lock(m_mutex);
    m_queue.emplace_back(index, std::move(expected));
  }
  m_changed.notify_all();
}

std::vector<std::uint64_t> ChunkVerifier::finish() {
  std::unique_lock lock(m_mutex);
  m_changed.wait(lock, [&] { return (m_queue.empty() && !m_busy) || m_error; });
  if (m_error) std::rethrow_exception(m_error);
  return std::exchange(m_bad, {});
}

void ChunkVerifier::run() {
  std::unique_lock lock(m_mutex);
  for (;;) {
    m_changed.wait(lock, [&] { return m_stop || (!m_queue.empty() && !m_error); });
    if (m_stop) return;
    auto [index, expected] = std::move(m_queue.front());
    m_queue.pop_front();
    m_busy = true;
    lock.unlock();
    std::exception_ptr error;
    bool bad = false;
    try {
      bad = m_hash(index) != expected;
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    m_busy = false;
    if (error) m_error = error;
    if (bad) m_bad.push_back(index);
    m_changed.notify_all();
  }
}

}  // namespace beamflow::transfer
