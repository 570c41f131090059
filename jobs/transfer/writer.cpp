#include "jobs/transfer/writer.hpp"

#include <memory>
#include <utility>

namespace beamflow::transfer {

PieceWriter::PieceWriter(std::size_t piece, std::size_t buffers) {
  for (std::size_t i = 0; i < buffers; ++i) {
    std::unique_ptr<char[], AlignedDelete> b(static_cast<char*>(::operator new[](piece, std::align_val_t{kAlign})));
    m_free.push_back(b.get());
    m_storage.push_back(std::move(b));
  }
}

char* PieceWriter::buffer() {
  std::unique_lock lock(m_mutex);
  m_freed.wait(lock, [&] { return !m_free.empty(); });
  char* b = m_free.back();
  m_free.pop_back();
  return b;
}

void PieceWriter::submit(char* buffer, std::size_t n, off_t at, const Write& write) {
  if (std::exception_ptr error = m_worker.take_error()) {
    give_back(buffer);
    std::rethrow_exception(error);
  }
  // The job owns the buffer: it is given back once written, or when the job
  // is dropped behind a failed write.
  std::shared_ptr<char> piece(buffer, [this](char* b) { give_back(b); });
  m_worker.post([piece = std::move(piece), n, at, &write] { write(piece.get(), n, at); });
}

void PieceWriter::give_back(char* buffer) {
  {
    const std::lock_guard lock(m_mutex);
    m_free.push_back(buffer);
  }
  m_freed.notify_all();
}

}  // namespace beamflow::transfer
