#pragma once
// Messages between the ranks of an MPI job, for a process whose other threads
// must never call MPI: one thread owns MPI from MPI_Init_thread to
// MPI_Finalize (MPI_THREAD_FUNNELED is all it needs), sends what the others
// queue and receives into an inbox, signalling an eventfd when something
// arrived. It never spins on a core: between messages it sleeps 50 us after
// a message, doubling each empty look to 400 us while messages flow and to
// 2 ms after 20 ms without any.
// The pilot (apps/beamflow/commands/pilot.cpp) adapts it to pilot::Channel.
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace beamflow::parallel {

class Mailbox {
 public:
  // Starts the MPI thread and waits for MPI_Init_thread. Throws
  // parallel.mailbox when MPI cannot start.
  Mailbox();
  // close()s.
  ~Mailbox();
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  int rank() const noexcept;
  int size() const noexcept;
  // Queues `bytes` for rank `to`; any thread; never blocks.
  void send(int to, std::string bytes);
  // Readable (an eventfd) while receive() has messages.
  int fd() const noexcept;
  // {from, bytes}, in arrival order; never blocks.
  std::vector<std::pair<int, std::string>> receive();
  // Completes every queued send, then MPI_Finalize; idempotent.
  void close();

 private:
  struct State;
  std::unique_ptr<State> m;
};

}  // namespace beamflow::parallel
