#pragma once
// Each run's log in a pilot: D/runs/RUN_ID/log, human-readable lines (where
// each task ran: rank and host; placed and done or failed with times;
// retries; crashes counted; cancel; drain; the end). A view for people: the
// journal is the truth, so the log is appended without fsync, and a crash
// may lose its last lines. Lines are buffered in memory and written by
// flush(), once per scheduling round: one open/write/close per run that has
// lines, whatever the number of tasks that ended in that round.
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>

namespace beamflow::pilot {

class RunLogs {
 public:
  explicit RunLogs(std::filesystem::path runs_root) : m_root(std::move(runs_root)) {}
  // The log file of a run.
  static std::filesystem::path file(const std::filesystem::path& runs_root, const std::string& run_id);

  // Queues "TIME line" for run_id's log; any thread.
  void add(const std::string& run_id, const std::string& line);
  // Appends what was queued. A run whose directory does not exist yet keeps
  // its lines for the next flush (at most kHeldLines; then they are dropped).
  void flush();

 private:
  static constexpr std::size_t kHeldLines = 1000;
  std::filesystem::path m_root;
  std::mutex m_mutex;
  std::map<std::string, std::string> m_pending;  // run id -> lines
  std::int64_t m_stamp_ms = -1;
  std::string m_stamp;
};

}  // namespace beamflow::pilot
