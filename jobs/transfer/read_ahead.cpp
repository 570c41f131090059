#include "jobs/transfer/read_ahead.hpp"

#include <memory>
#include <utility>

namespace beamflow::transfer {

ReadAhead::~ReadAhead() {
  // A read in flight writes into its buffer until it returns: the buffer
  // goes back only after that. A job never throws (its packaged_task keeps
  // the error), so the worker drops none and every future is fulfilled.
  for (Asked& a : m_asked) {
    a.got.wait();
    m_release(a.buffer);
  }
}

void ReadAhead::ask(char* buffer, std::size_t n, off_t at, const Read& read) {
  // SerialWorker's jobs are copyable std::functions: the task is shared.
  auto task = std::make_shared<std::packaged_task<std::size_t()>>([buffer, n, at, &read] { return read(buffer, n, at); });
  m_asked.push_back({buffer, task->get_future()});
  m_worker.post([task = std::move(task)] { (*task)(); });
}

ReadAhead::Piece ReadAhead::take() {
  Asked a = std::move(m_asked.front());
  m_asked.pop_front();
  try {
    return {a.buffer, a.got.get()};
  } catch (...) {
    m_release(a.buffer);
    throw;
  }
}

}  // namespace beamflow::transfer
