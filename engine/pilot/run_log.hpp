#pragma once
// Each run's log in a pilot: D/runs/RUN_ID/log, human-readable lines (where
// each task ran: rank and host; placed and done or failed with times;
// retries; crashes counted; cancel; drain; the end). A view for people: the
// journal is the truth, so the log is appended without fsync, and a crash
// may lose its last lines. Lines are buffered in memory and written by
// flush(), called once per scheduling round: a run's lines are held until
// its last line (add_last: the run ended or left) or until the oldest of
// them is kHoldMs old, then written with one open/write/close. A pilot's
// one-task flow used to open its log once per round that had one of its
// four lines (accepted, placed, done, ended); it now opens it once. The
// coordinator wakes for next_due_ms(), so a long task's "placed" line is in
// the log within kHoldMs, which `beamflow logs` and `wait`'s progress line
// read, not at the run's next event.
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>

#include "core/time.hpp"

namespace beamflow::pilot {

class RunLogs {
 public:
  // How long a running run's lines may wait in memory: what a crash of the
  // pilot loses from a log at most, and how late `beamflow logs` shows them.
  // A one-task no-op flow lives well under it, so its lines are one write.
  static constexpr std::int64_t kHoldMs = 250;

  explicit RunLogs(std::filesystem::path runs_root) : m_root(std::move(runs_root)) {}
  // The log file of a run.
  static std::filesystem::path file(const std::filesystem::path& runs_root, const std::string& run_id);

  // Queues "TIME line" for run_id's log; any thread.
  void add(const std::string& run_id, const std::string& line);
  // The same for a run's last line for now (it ended, or this pilot leaves
  // it): its lines are written at the next flush().
  void add_last(const std::string& run_id, const std::string& line);
  // Appends the lines that are due at `now_ms` (see above). A run whose
  // directory does not exist yet keeps its lines for the next flush (at
  // most kHeldLines; then they are dropped).
  void flush(std::int64_t now = now_ms());
  // Appends every line held, due or not (a pilot's end; lines that must
  // outlive a crash soon after, such as the crashes counted at its start).
  void flush_all();
  // When flush() next has lines to write: the earliest hold that ends, now
  // for a last line; INT64_MAX when nothing is held.
  std::int64_t next_due_ms() const;

 private:
  struct Held {
    std::string text;
    std::int64_t due_ms = 0;  // its oldest line's time + kHoldMs
    bool last = false;        // add_last: due at the next flush
  };
  void add(const std::string& run_id, const std::string& line, bool last);
  void write(bool all, std::int64_t now);
  static constexpr std::size_t kHeldLines = 1000;
  std::filesystem::path m_root;
  mutable std::mutex m_mutex;
  std::map<std::string, Held> m_pending;  // run id -> lines
  std::int64_t m_next_due = INT64_MAX;
  std::int64_t m_stamp_ms = -1;
  std::string m_stamp;
};

}  // namespace beamflow::pilot
