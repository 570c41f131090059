#pragma once
// Which task brought a pilot rank down, and how often (issue 10:
// `Pilot.TaskCrashed` instead of crash-looping across restarts).
//
// Only a task whose code runs in a rank's own process can take that process
// down: a light task run inline by a worker, or the start/poll/cancel calls
// of any task. A `command` or an own_process action runs in a supervised
// child whose crash is its outcome (Command.*, the child's exit), never the
// rank's. So each worker marks, in a page of its own mapped from the pilot
// directory (D/pilot/executing/rank-R, MAP_SHARED), the task whose code it
// is executing, and clears the mark after: memory writes only, no system
// call on the task path. A process that dies leaves its dirty pages in the
// page cache, so the coordinator of the next incarnation reads, before it
// places anything, which task each rank was executing when it died, counts
// one crash for each (at most one per task per incarnation), and clears the
// marks. A rank lost by heartbeat (a task hung in its code) counts the task
// its mark names too. A drain, a walltime or a SIGTERM leaves no mark: the
// workers finish the call they are in before they stop, and a task that
// waits (a command, a sleep) is never marked while it waits.
//
// The counts are D/pilot/crashes.json, replaced atomically when one changes
// (rare). Neither the marks nor the counts are fsynced: they are for process
// crashes, which keep the page cache; a host crash may lose the last mark,
// which costs at most one more attempt of the task. On a file system shared
// by several nodes a dead rank's last mark reaches the coordinator when its
// node writes the page back; read earlier, the crash may go uncounted.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.hpp"

namespace beamflow::pilot {

// What a worker's mark says: the task it was executing, and where.
struct Executing {
  std::string key;     // the task's action id
  std::string run_id;  // the run it belongs to
  std::string action;  // its action's name
  std::string host;
  int rank = 0;
};

// A worker rank's mark (one page mapped from D/pilot/executing/rank-R).
// Mapped at the first enter(); a directory that cannot be mapped leaves the
// rank unmarked (its crashes go uncounted) rather than stopping it.
class ExecutingMark {
 public:
  ExecutingMark(std::filesystem::path pilot_dir, int rank, std::string host);
  ~ExecutingMark();
  ExecutingMark(const ExecutingMark&) = delete;
  ExecutingMark& operator=(const ExecutingMark&) = delete;

  void enter(std::string_view key, std::string_view run_id, std::string_view action);
  void leave() noexcept;

  // Marks `key` for the lifetime of the guard.
  class Guard {
   public:
    explicit Guard(ExecutingMark* m) : m_mark(m) {}
    ~Guard() {
      if (m_mark) m_mark->leave();
    }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;

   private:
    ExecutingMark* m_mark;
  };

 private:
  bool map();
  std::filesystem::path m_dir;
  int m_rank;
  std::string m_host;
  char* m_page = nullptr;
  bool m_tried = false;
};

// The marks every rank left in D/pilot/executing/ (what each was executing
// when its process died), each cleared once read.
std::vector<Executing> take_marks(const std::filesystem::path& pilot_dir);
// The mark of one rank, left in place (a rank lost by heartbeat).
std::optional<Executing> read_mark(const std::filesystem::path& pilot_dir, int rank);

// The crash counts of a pilot directory (D/pilot/crashes.json).
class CrashCounts {
 public:
  // Loads the counts; `limit` is --max-task-crashes (0: tasks are never
  // failed for crashing).
  CrashCounts(std::filesystem::path pilot_dir, int limit);

  int limit() const noexcept { return m_limit; }
  const std::filesystem::path& pilot_dir() const noexcept { return m_dir; }
  // Counts one crash of `e.key` (at most once in this incarnation: a hung
  // rank's task counted, requeued and then killed with the coordinator
  // counts once) and saves the counts. Returns its count.
  int count(const Executing& e);
  int count_of(const std::string& key) const;
  // The failure's cause when `key` has crashed `limit` times or more.
  std::optional<std::string> exhausted(const std::string& key) const;

 private:
  void save() const;
  std::filesystem::path m_dir;
  int m_limit;
  Json m_counts;  // key -> {count, run_id, action, where: ["rank R on HOST", ...]}
  std::set<std::string> m_counted;
};

}  // namespace beamflow::pilot
