#include "jobs/transfer/read_ahead.hpp"

#include <algorithm>
#include <memory>
#include <utility>

namespace beamflow::transfer {

ReadAhead::~ReadAhead() {
  // A read in flight writes into its buffers until it returns: they go back
  // only after that. A job never throws (its packaged_task keeps the
  // error), so the worker drops none and every future is fulfilled.
  for (Asked& a : m_asked) {
    a.got.wait();
    m_release(a.buffer);
  }
}

void ReadAhead::ask(std::vector<iovec> pieces, off_t at, const Read& read) {
  // SerialWorker's jobs are copyable std::functions: the task is shared.
  auto task = std::make_shared<std::packaged_task<std::size_t()>>(
      [pieces, at, &read] { return read(pieces.data(), static_cast<int>(pieces.size()), at); });
  const std::shared_future<std::size_t> got = task->get_future().share();
  std::size_t before = 0;
  for (const iovec& p : pieces) {
    m_asked.push_back({static_cast<char*>(p.iov_base), before, p.iov_len, got});
    before += p.iov_len;
  }
  m_worker.post([task = std::move(task)] { (*task)(); });
}

ReadAhead::Piece ReadAhead::take() {
  Asked a = std::move(m_asked.front());
  m_asked.pop_front();
  try {
    const std::size_t got = a.got.get();
    return {a.buffer, got > a.before ? std::min(got - a.before, a.size) : 0};
  } catch (...) {
    m_release(a.buffer);
    throw;
  }
}

}  // namespace beamflow::transfer
