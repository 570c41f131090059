#pragma once
// The copy's second thread: while it writes one piece of a file, the copier
// reads and hashes the next (a pwrite into the page cache is a memory copy
// of its own, and a throttled one when the disk falls behind). Pieces live
// in a small ring of buffers; wait() returns once every submitted piece is
// written and rethrows the first write error. The copier uses it for ranges
// of more than one piece; a small file is written inline.
#include <sys/types.h>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace beamflow::transfer {

class PieceWriter {
 public:
  // Writes `n` bytes of `data` at offset `at`; called on the writer thread.
  using Write = std::function<void(const char* data, std::size_t n, off_t at)>;

  PieceWriter(std::size_t piece, std::size_t buffers);
  ~PieceWriter();  // writes what is queued, then stops the thread
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
  void wait();

 private:
  struct Job {
    char* data;
    std::size_t n;
    off_t at;
    const Write* write;
  };
  void run();

  std::vector<std::vector<char>> m_storage;
  std::vector<char*> m_free;
  std::deque<Job> m_queue;
  bool m_writing = false;
  bool m_stop = false;
  std::exception_ptr m_error;
  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::thread m_thread;
};

}  // namespace beamflow::transfer
