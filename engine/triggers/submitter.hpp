#pragma once
// The hand-offs of a watcher, done by a few threads of their own, in
// batches (pilot::BatchLedger): a batch is one file in inbox/ that is its
// own ledger entry, made durable by two fsyncs whatever its size (the file,
// inbox/) and no system call per event (a link per event was the largest
// share of a file's hand-off on disk), so a burst of events costs a few
// fsyncs, and the pilot reads it with one inotify event. Batches form by group commit: a thread takes
// everything queued (up to kMaxBatch) when it is free, so the events that
// arrived while the previous batch was made durable go in the next one, and
// a lone event waits for no window (its latency is one hand-off). The
// watcher's loop (or a pilot coordinator hosting it) never waits for them.
// Safe because the batch ledger is safe with concurrent threads and
// idempotent by submission id; it holds the pilot directory's watcher lock
// (one watcher per pilot directory: pilot.ledger.locked).
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
#include "pilot/intake_batch.hpp"
#include "triggers/registration.hpp"

namespace beamflow::triggers {

class Submitter {
 public:
  using Log = std::function<void(const std::string&)>;
  struct Job {
    std::string submission_id;
    std::shared_ptr<const Json> definition;
    Json input;
    std::string label;  // for the log when `registration` is not set: "timer R (instant T)", "FILE (registration R)"
    // A file event described here, on a submitter thread, not on the
    // watcher's loop (which then only reads events, so its inotify queue
    // overflows less): when set, the file is stat'ed at hand-off time and
    // submission_id and input are made from it (a file gone or replaced by a
    // non-file meanwhile is dropped).
    std::shared_ptr<const Registration> registration;
    std::string file;
    // What a log line names: "FILE (registration R)" for a file event, else
    // `label`. Made only for a line (errors): a string a file was a measured
    // share of the hand-off.
    std::string what() const;
  };
  // The log's name of a file event: "FILE (registration R)", for a job the
  // submitter describes (Job::what) and for one the watcher described (label).
  static std::string file_label(const std::string& file, const std::string& registration_id);
  static constexpr std::size_t kMaxBatch = 1024;
  // Prepares the pilot directory once (pilot.dir.unsafe, pilot.dir.io) and
  // takes its watcher lock (pilot.ledger.locked).
  // threads 0: every push() hands over at once, on the caller's thread.
  Submitter(std::filesystem::path pilot_dir, int threads, Log log);
  // Waits for the hand-offs in progress; queued ones are dropped (not yet
  // handed over: the next rescan finds them).
  ~Submitter();
  // Queues jobs (one wake-up for all of them).
  void push(std::vector<Job> jobs);
  // Hands `job` over now, on the caller's thread (timers: rare, and their
  // bookkeeping wants the answer).
  enum class Outcome { Submitted, Already, Failed };
  Outcome hand_over(const Job& job);
  // Whether this id was handed over (counted as already when it was).
  bool handed_over(const std::string& submission_id);
  // Blocks until nothing is queued or in progress.
  void wait_idle();
  std::size_t queued() const;

  std::atomic<std::uint64_t> submitted{0}, already{0}, errors{0}, batches{0};

 private:
  // Describes the file jobs (dropping those gone) and hands the rest over:
  // one outcome per job left in `jobs`.
  std::vector<Outcome> hand_over(std::vector<Job>& jobs);
  void work();
  pilot::BatchLedger m_ledger;
  Log m_log;
  mutable std::mutex m_mutex;
  std::mutex m_log_mutex;
  std::condition_variable m_ready, m_idle;
  std::deque<Job> m_queue;
  std::size_t m_busy = 0;
  bool m_stop = false;
  std::vector<std::thread> m_threads;
};

}  // namespace beamflow::triggers
