#pragma once
// Run directories on disk (layout in run/paths.hpp): creating one, locking it
// for the process that drives it, the status summary `beamflow runs` reads,
// and loading a run's definition and journal back.
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "platform/fs.hpp"
#include "journal/journal.hpp"
#include "run/record.hpp"

namespace beamflow::fs {
class SyncGroup;
}

namespace beamflow::run {

struct NewRun;

// How much of a journal a summary reads at once (its head): a run without
// status.json whose journal is longer is read whole only once no process
// holds its lock. A pilot's runs write status.json at their end only when
// their journal is longer (RunOptions::status_at_end).
inline constexpr std::size_t kSummaryHeadBytes = 64 * 1024;

// A time-ordered unique id: "20261124T093000Z-1a2b3c".
std::string new_run_id();

class RunDirectory {
 public:
  // Creates runs_root/run_id with its lock and an empty journal, opened for
  // the first commit (actions/ is made later, by the driver, when an action
  // needs a state directory). Throws Error "run.exists" if the run id is taken.
  //
  // Layout 2 (record.hpp's kRunDirLayout): the definition and the input are
  // not files here but the journal's first commit (RunStarted), and the run
  // exists once that commit is whole. create() syncs nothing: the first
  // commit makes the journal, its name and the run directory's name durable
  // together (one group flush, or the journal's fdatasync and fsyncs of the
  // run directory and the runs root), before anything is acted on. A crash
  // before that leaves a directory whose journal has no whole first commit,
  // which the next create() of the same id takes over (dropping the journal:
  // nothing it holds was ever acted on). With Durability::None nothing is
  // synced.
  //
  // Layout 1 (runs made before it): definition.json, renamed in last, and
  // input.json beside the journal. Such runs still load, list and resume:
  // every reader here accepts both.
  static NewRun create(const std::filesystem::path& runs_root, const std::string& run_id,
                       journal::Durability durability = journal::Durability::Fsync, fs::SyncGroup* group = nullptr);
  // Whether runs_root/run_id is a run: its definition.json is there (layout
  // 1), or its journal's first commit is a whole layout-2 RunStarted, or the
  // journal is damaged (never taken over). Anything else is a creation cut
  // short.
  static bool exists(const std::filesystem::path& runs_root, const std::string& run_id);
  // Opens an existing run and takes its lock. Throws "run.not_found", or
  // "run.locked" when another process is driving it.
  static RunDirectory open(const std::filesystem::path& runs_root, const std::string& run_id);

  const std::filesystem::path& path() const noexcept { return m_path; }
  const std::string& run_id() const noexcept { return m_run_id; }
  std::filesystem::path journal_file() const { return m_path / "journal"; }
  Json definition() const;  // stored_definition(path())
  Json input() const;       // stored_input(path())
  // The status summary (status.json), replaced atomically (a reader sees the
  // old or the new file, never a mix) but not fsynced: it is a view of the
  // journal, written after the commit it reflects, so it is never ahead of
  // what is durable. A machine crash may leave the previous view (or none,
  // or an empty file, which `beamflow runs` reads as INTERRUPTED); resuming
  // the run rewrites it from the journal.
  void write_status(const Json& status) const;

 private:
  RunDirectory(std::filesystem::path path, std::string run_id, fs::FileLock lock)
      : m_path(std::move(path)), m_run_id(std::move(run_id)), m_lock(std::move(lock)) {}
  std::filesystem::path m_path;
  std::string m_run_id;
  fs::FileLock m_lock;
};

// A run just created: its locked directory and its journal, open for append.
struct NewRun {
  RunDirectory dir;
  journal::Writer journal;
};

// A run's definition and input as stored, in either layout, read without
// its lock. Throws "run.corrupt" when neither layout's copy is there.
Json stored_definition(const std::filesystem::path& run_dir);
Json stored_input(const std::filesystem::path& run_dir);

// Decoded records of a run's journal.
struct History {
  std::vector<Event> events;
  std::vector<std::uint64_t> offsets;  // of each event's record in the journal
  std::uint64_t end = 0;               // where the whole commits end
  bool torn_tail = false;            // a torn tail follows them (cut on the next append)
  std::size_t skipped_records = 0;   // always 0: damage before the tail is refused
};
// Reads, decodes and checks (record_check.hpp) a run's journal; empty when
// there is none. Throws "journal.corrupt" (context run_id=, offset=, record=)
// when the journal is damaged before its tail, "run.record" for a record
// that breaks its schema, "journal.open" for a file that is not a regular
// file or a symbolic link to a missing file.
History read_history(const std::filesystem::path& journal_file);
// The journal's read report without refusing damage (for `beamflow repair`);
// nullopt when there is no journal. Throws as read_history for the file itself.
std::optional<journal::ReadReport> read_journal_report(const std::filesystem::path& journal_file);
// A record type's name, or "type N" for a number no record has.
std::string record_name(std::uint16_t type);

struct RunSummary {
  std::string run_id;
  std::string status;  // RUNNING (a process holds it), INTERRUPTED (resumable), SUCCEEDED, FAILED
  std::string flow;
  std::string started;
  std::string ended;
  Json error;  // {"error","cause"} when FAILED
  std::string submission_id;  // the pilot's submission it was started from; empty: none, or a run from before
                              // runs kept it (not in to_json: --json shapes are kept)
  Json to_json() const;
};
// Every run under runs_root, oldest first.
std::vector<RunSummary> list_runs(const std::filesystem::path& runs_root);
// Status of one run; nullopt when it does not exist. A run without
// status.json (a pilot's, RunOptions::status_at_end) is RUNNING while a
// process holds its lock; else what its journal's last record says when that
// is a RunEnded (SUCCEEDED or FAILED, its end time and error), or
// INTERRUPTED; its flow and start come from its journal's RunStarted.
std::optional<RunSummary> summarize_run(const std::filesystem::path& runs_root, const std::string& run_id);

}  // namespace beamflow::run
