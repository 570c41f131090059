#pragma once
// The threads that drive a pilot's runs, one run at a time each, kept for the
// next run when one ends. Why not a thread a run: starting and joining one
// costs a clone, a fresh 8 MiB stack faulted in and, once glibc's stack cache
// (40 MiB, 5 stacks) is full, unmapped again with a TLB flush: ~115 us of
// CPU on the 2-core PVM guest, where every page-table change and context
// switch traps to the host, about a tenth of a one-task flow's CPU there.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace beamflow::pilot {

class DriverThreads {
 public:
  DriverThreads() = default;
  // Lets every job handed over end, then joins the threads.
  ~DriverThreads();
  DriverThreads(const DriverThreads&) = delete;
  DriverThreads& operator=(const DriverThreads&) = delete;

  // Runs `job` on an idle thread, or on a new one when none is idle: a job
  // never waits for another to end (a run's driver lives as long as its run).
  void run(std::function<void()> job);
  // Threads started so far, busy or idle: the most jobs that ran at once.
  std::size_t threads() const;
  // Threads waiting for a job that no job handed over has claimed.
  std::size_t idle() const;

 private:
  void loop();
  mutable std::mutex m_mutex;
  std::condition_variable m_cv;
  std::deque<std::function<void()>> m_jobs;
  std::size_t m_idle = 0;  // waiting threads that no queued job has claimed
  bool m_stopping = false;
  std::vector<std::thread> m_threads;
};

}  // namespace beamflow::pilot
