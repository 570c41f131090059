#pragma once
// The hand-offs of a watcher, done by a few threads of their own: each is a
// pilot::submit (a temporary file, two fsyncs, a link), which a watcher's
// loop (or a pilot coordinator hosting it) must not wait for, and which
// overlap well on a real disk. Safe because the intake is safe with
// concurrent submitters and idempotent by submission id.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/json.hpp"

namespace beamflow::triggers {

class Submitter {
 public:
  using Log = std::function<void(const std::string&)>;
  struct Job {
    std::string submission_id;
    std::shared_ptr<const Json> definition;
    Json input;
    std::string what;  // for the log: "FILE (registration R)"
  };
  // threads 0: every push() hands over at once, on the caller's thread.
  Submitter(std::filesystem::path pilot_dir, int threads, Log log);
  // Waits for the hand-offs in progress; queued ones are dropped (not yet
  // handed over: the next rescan finds them).
  ~Submitter();
  void push(Job job);
  // Hands `job` over now, on the caller's thread (timers: rare, and their
  // bookkeeping wants the answer).
  enum class Outcome { Submitted, Already, Failed };
  Outcome hand_over(const Job& job);
  // Blocks until nothing is queued or in progress.
  void wait_idle();
  std::size_t queued() const;

  std::atomic<std::uint64_t> submitted{0}, already{0}, errors{0};

 private:
  void work();
  std::filesystem::path m_pilot;
  Log m_log;
  mutable std::mutex m_mutex;
  std::condition_variable m_ready, m_idle;
  std::deque<Job> m_queue;
  std::size_t m_busy = 0;
  bool m_stop = false;
  std::vector<std::thread> m_threads;
};

}  // namespace beamflow::triggers
