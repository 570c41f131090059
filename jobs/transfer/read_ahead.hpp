#pragma once
// Reads kept in flight ahead of the caller, on a SerialWorker's thread, and
// handed back in the order they were asked for. The copier uses it for a
// source read with O_DIRECT: such a read has no kernel readahead behind it,
// so without this the disk read of a piece and the hash of the one before
// ran one after the other on the reading thread (bench VM, 2 GiB cold, with
// SHA-256: 3.3 s buffered became 4.5-4.7 s direct).
//
// The buffers are the caller's (the writer's, see writer.hpp): each read
// asked holds one until take() hands it back; a read whose take() throws,
// and every read not taken when the ReadAhead goes, gives its buffer back
// through `release`.
#include <sys/types.h>

#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <utility>

#include "jobs/transfer/serial_worker.hpp"

namespace beamflow::transfer {

class ReadAhead {
 public:
  // Reads up to `n` bytes into `buffer` at `at` and returns how many it got;
  // called on the read-ahead thread. What it throws, take() rethrows.
  using Read = std::function<std::size_t(char* buffer, std::size_t n, off_t at)>;
  using Release = std::function<void(char* buffer)>;

  explicit ReadAhead(Release release) : m_release(std::move(release)) {}
  // Waits for the reads still in flight and gives their buffers back.
  ~ReadAhead();
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // Queues a read into `buffer`; `read` must live until it is taken or the
  // ReadAhead is gone.
  void ask(char* buffer, std::size_t n, off_t at, const Read& read);
  struct Piece {
    char* buffer;
    std::size_t got;
  };
  // The oldest read not yet taken (waits for it), or its error rethrown
  // (its buffer given back): errors come in the order of the reads.
  Piece take();
  // Reads asked and not yet taken.
  std::size_t asked() const { return m_asked.size(); }

 private:
  struct Asked {
    char* buffer;
    std::future<std::size_t> got;
  };
  Release m_release;
  std::deque<Asked> m_asked;
  SerialWorker m_worker;  // last: stopped before the futures its jobs fulfil go
};

}  // namespace beamflow::transfer
