#pragma once
// The copy's second thread: while it writes one piece of a file, the copier
// reads and hashes the next (a pwrite into the page cache is a memory copy
// of its own, and a throttled one when the disk falls behind). Pieces live
// in a small ring of page-aligned buffers (the copier may read into them
// with O_DIRECT); wait() returns once every submitted piece is
// written and rethrows the first write error (the pieces queued behind a
// failed write are not written). The copier uses it for ranges of more than
// one piece; a small file is written inline.
#include <sys/types.h>

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <vector>

#include "jobs/transfer/serial_worker.hpp"

namespace beamflow::transfer {

class PieceWriter {
 public:
  // Writes `n` bytes of `data` at offset `at`; called on the writer thread.
  using Write = std::function<void(const char* data, std::size_t n, off_t at)>;
  // What buffer() returns is aligned to this (a page): enough for O_DIRECT
  // on the file systems that say what they need (statx STATX_DIOALIGN).
  static constexpr std::size_t kAlign = 4096;

  PieceWriter(std::size_t piece, std::size_t buffers);
  // Lets the piece being written end; the pieces still queued are dropped
  // (the copier waits for them before it closes the file).
  ~PieceWriter() = default;
  PieceWriter(const PieceWriter&) = delete;
  PieceWriter& operator=(const PieceWriter&) = delete;

  // A free buffer of `piece` bytes (waits for one).
  char* buffer();
  // Queues a buffer from buffer(); `write` must live until wait() returns.
  // Rethrows an earlier write's error instead (the buffer is given back).
  void submit(char* buffer, std::size_t n, off_t at, const Write& write);
  // Returns a buffer from buffer() unused.
  void give_back(char* buffer);
  // Waits until every submitted piece is written (or skipped after an
  // error); rethrows the first error, which is then cleared.
  void wait() { m_worker.wait(); }

 private:
  struct AlignedDelete {
    void operator()(char* p) const { ::operator delete[](p, std::align_val_t{kAlign}); }
  };
  std::vector<std::unique_ptr<char[], AlignedDelete>> m_storage;
  std::vector<char*> m_free;
  std::mutex m_mutex;
  std::condition_variable m_freed;
  SerialWorker m_worker;  // last: it stops, and gives its pieces back, before the buffers go
};

}  // namespace beamflow::transfer
