#pragma once
// How the pilot's processes talk: one process's end of a message channel
// between ranks (rank 0 the coordinator, 1..size-1 workers). The engine
// knows no MPI: parallel/mailbox.hpp is the MPI channel (a thread that owns
// every MPI call), LocalChannels below is the channel of a one-process pilot
// whose workers are threads. Messages are batches of tasks or outcomes in a
// compact binary form, or small JSON documents (wire.hpp).
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "platform/events.hpp"

namespace beamflow::pilot {

struct Envelope {
  int from = 0;
  std::string bytes;
};

class Channel {
 public:
  virtual ~Channel() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Queues `bytes` for rank `to`; returns at once; any thread. Messages from
  // one rank to another arrive in the order sent.
  virtual void send(int to, std::string bytes) = 0;
  // Readable while receive() has something to return.
  virtual int fd() const = 0;
  // Everything that arrived, in order; never blocks.
  virtual std::vector<Envelope> receive() = 0;
};

// The channels of `size` ranks inside one process (a pilot of one MPI rank:
// rank 0 coordinates, ranks 1..size-1 are worker threads; and tests).
class LocalChannels {
 public:
  explicit LocalChannels(int size);
  ~LocalChannels();
  Channel& at(int rank);
  int size() const noexcept { return static_cast<int>(m_ends.size()); }

 private:
  class End;
  std::vector<std::unique_ptr<End>> m_ends;
};

}  // namespace beamflow::pilot
