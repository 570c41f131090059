#pragma once
// One thread beside the caller's that runs jobs in the order they are posted:
// the machinery the copier's writer (writer.hpp) and read-back (verifier.hpp)
// share. The first job that throws stops the queue: the jobs queued behind
// it, and those posted until the error is reported, are dropped (destroyed
// unrun, so whatever they hold is released), and the error is kept until
// wait() or take_error() reports it, once.
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

namespace beamflow::transfer {

class SerialWorker {
 public:
  using Job = std::function<void()>;

  SerialWorker();
  // Drops what is queued, lets the running job end, stops the thread.
  ~SerialWorker();
  SerialWorker(const SerialWorker&) = delete;
  SerialWorker& operator=(const SerialWorker&) = delete;

  // Queues `job`, or drops it while an error is waiting to be reported.
  void post(Job job);
  // Waits until no job is queued or running (a finished job is destroyed
  // before); rethrows the first error, which is then cleared.
  void wait();
  // The first error, cleared, or null: for a caller that reports it before
  // posting more, without waiting.
  std::exception_ptr take_error();

 private:
  void run();

  std::deque<Job> m_queue;
  bool m_running = false;
  bool m_stop = false;
  std::exception_ptr m_error;
  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::thread m_thread;
};

}  // namespace beamflow::transfer
