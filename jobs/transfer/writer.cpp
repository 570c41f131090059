#include "jobs/transfer/writer.hpp"

#include <utility>

namespace beamflow::transfer {

PieceWriter::PieceWriter(std::size_t piece, std::size_t buffers) : m_storage(buffers, std::vector<char>(piece)) {
  for (auto& b : m_storage) m_free.push_back(b.data());
  m_thread = std::thread([this] { run(); });
}

PieceWriter::~PieceWriter() {
  {
    const std::lock_guard lock(m_mutex);
    m_stop = true;
  }
  m_changed.notify_all();
  m_thread.join();
}

char* PieceWriter::buffer() {
  std::unique_lock lock(m_mutex);
  m_changed.wait(lock, [&] { return !m_free.empty(); });
  char* b = m_free.back();
  m_free.pop_back();
  return b;
}

void PieceWriter::submit(char* buffer, std::size_t n, off_t at, const Write& write) {
  {
    const std::lock_guard lock(m_mutex);
    if (m_error) {
      m_free.push_back(buffer);
      std::exception_ptr error = std::exchange(m_error, nullptr);
      std::rethrow_exception(error);
    }
    m_queue.push_back({buffer, n, at, &write});
  }
  m_changed.notify_all();
}

void PieceWriter::give_back(char* buffer) {
  {
    const std::lock_guard lock(m_mutex);
    m_free.push_back(buffer);
  }
  m_changed.notify_all();
}

void PieceWriter::wait() {
  std::unique_lock lock(m_mutex);
  m_changed.wait(lock, [&] { return m_queue.empty() && !m_writing; });
  if (m_error) std::rethrow_exception(std::exchange(m_error, nullptr));
}

void PieceWriter::run() {
  std::unique_lock lock(m_mutex);
  for (;;) {
    m_changed.wait(lock, [&] { return m_stop || !m_queue.empty(); });
    if (m_queue.empty()) return;  // stopping, nothing left
    const Job job = m_queue.front();
    m_queue.pop_front();
    const bool skip = static_cast<bool>(m_error);
    m_writing = true;
    lock.unlock();
    std::exception_ptr error;
    if (!skip) try {
        (*job.write)(job.data, job.n, job.at);
      } catch (...) {
        error = std::current_exception();
      }
    lock.lock();
    m_writing = false;
    if (error && !m_error) m_error = error;
    m_free.push_back(job.data);
    m_changed.notify_all();
  }
}

}  // namespace beamflow::transfer
