#pragma once
// Reads kept in flight ahead of the caller, on a SerialWorker's thread, and
// handed back in the order they were asked for. The copier uses it for a
// source read with O_DIRECT: such a read has no kernel readahead behind it,
// so without this the disk read of a piece and the hash of the one before
// ran one after the other on the reading thread (bench VM, 2 GiB cold, with
// SHA-256: 3.3 s buffered became 4.5-4.7 s direct).
//
// A read may fill several buffers, the consecutive pieces of the file, with
// one preadv: on the AMD EPYC VM an O_DIRECT read of 2 GiB in 256 KiB
// requests one at a time ran at 0.5-1.2 GB/s, in 2 MiB ones at 1.3-1.6 GB/s
// (dd, alternated), and each request is a doorbell write that exits to the
// host. take() still hands back one piece at a time.
//
// The buffers are the caller's (the writer's, see writer.hpp): each piece
// asked holds one until take() hands it back; a piece whose take() throws,
// and every piece not taken when the ReadAhead goes, gives its buffer back
// through `release`.
#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <utility>
#include <vector>

#include "jobs/transfer/serial_worker.hpp"

namespace beamflow::transfer {

class ReadAhead {
 public:
  // Reads into the `count` buffers of `pieces`, in order, from `at` on
  // (one preadv) and returns how many bytes it got in all; called on the
  // read-ahead thread. What it throws, take() rethrows for each piece.
  using Read = std::function<std::size_t(const iovec* pieces, int count, off_t at)>;
  using Release = std::function<void(char* buffer)>;

  explicit ReadAhead(Release release) : m_release(std::move(release)) {}
  // Waits for the reads still in flight and gives their buffers back.
  ~ReadAhead();
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // Queues one read of consecutive pieces at `at`, each `pieces[i].iov_len`
  // bytes into `pieces[i].iov_base`; each is taken on its own, its count
  // being what the read got of it. `read` must live until every piece is
  // taken or the ReadAhead is gone.
  void ask(std::vector<iovec> pieces, off_t at, const Read& read);
  struct Piece {
    char* buffer;
    std::size_t got;
  };
  // The oldest read not yet taken (waits for it), or its error rethrown
  // (its buffer given back): errors come in the order of the reads.
  Piece take();
  // Pieces asked and not yet taken.
  std::size_t asked() const { return m_asked.size(); }

 private:
  struct Asked {
    char* buffer;
    std::size_t before;  // bytes of its read before this piece
    std::size_t size;
    std::shared_future<std::size_t> got;  // the whole read's
  };
  Release m_release;
  std::deque<Asked> m_asked;
  SerialWorker m_worker;  // last: stopped before the futures its jobs fulfil go
};

}  // namespace beamflow::transfer
