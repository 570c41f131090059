#pragma once
// The pilot's side of the hand-off: what waits in inbox/, read once each,
// submission files (intake.hpp's submit) and batch files (a trigger
// watcher's Intake::submit_batch_file) alike.
//
// A batch file is read whole, once, when it appears (one inotify event, one
// read for up to a thousand submissions); the reader keeps only where each
// entry's line is, and reads that line again when the run starts. An entry
// is returned only when its batch owns its id (ledger/ID names the batch);
// a pilot that reads a batch before its writer linked the entries links
// them itself (link(2): the first link wins, the writer then finds its own
// batch there) and fsyncs ledger/ before returning them, so an id
// handed over twice is run once, by the batch that owns it.
//
// accepted(): once the run's journal is durable. A submission file moves to
// accepted/ (mark_accepted); a batch moves when every entry it owns has its
// run (entries whose run already existed when read count at once, so a
// pilot killed mid-batch moves it after its restart). What moved to
// accepted/ is archived (intake_archive.hpp) by the reader's own thread
// every kArchiveEveryMs, and by archive_now().
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "pilot/intake.hpp"
#include "pilot/intake_archive.hpp"
#include "platform/fs.hpp"
#include "platform/posix_file.hpp"

namespace beamflow::pilot {

// A trigger watcher's hand-off: batch files that are their own ledger entry
// (format 2, intake.hpp's layout). A batch costs a write, an fsync of the
// file and one of inbox/, and no system call per submission: the ids it
// holds are recorded by the batch itself, and which ids were handed over is
// known from memory (an index of every batch and ledger entry, read at
// construction, and handled.ids for what the pilot archived).
//
// That index replaces link(2)'s arbitration, so it must see every writer of
// these ids: one BatchLedger per pilot directory at a time (an exclusive
// flock(2) on D/watcher.lock, held for its life: a watcher killed with
// SIGKILL releases it, the next one reads what the dead one linked), and
// ids in the watcher's namespace (is_watcher_id) are refused by every other
// hand-off (Intake::submit, Intake::submit_batch_file). Several threads of
// the holder may submit at once: an id in a batch being written waits for
// that batch's answer (handed over, or not when its write failed).
//
// Each item is handed over wholly or not at all (the batch is durable in
// inbox/ before submit() returns, and the pilot syncs inbox/ before it runs
// an entry of one it read earlier), and every id is run once.
class BatchLedger {
 public:
  // Prepares the directory (prepare_pilot_dir's errors); throws
  // pilot.ledger.locked while another process holds the lock, and
  // fs.lock_unsupported where flock(2) is not one lock for every node (NFS
  // with local_lock, Lustre with localflock or without -o flock).
  explicit BatchLedger(std::filesystem::path dir);
  // Whether this id was handed over (no system call).
  bool handed_over(const std::string& submission_id) const;
  // Intake::submit_batch_file's answers (an id handed over before:
  // `existed`, empty run id). Throws pilot.dir.io when the batch cannot be
  // written or synced: then none of its items is handed over.
  std::vector<Intake::Outcome> submit(const std::vector<Intake::Item>& batch);
  // Ids known handed over (tests, the log): an id both in accepted/ and in
  // handled.ids (an archive pass cut before its moves) counts twice.
  std::size_t size() const;

 private:
  std::filesystem::path m_dir;
  std::optional<fs::FileLock> m_lock;  // D/watcher.lock, held for life
  fs::detail::UniqueFd m_inbox;
  bool m_anonymous = false;
  mutable std::mutex m_mutex;
  std::condition_variable m_settled;  // a batch in flight was answered
  // Every id known here, and whether it is handed over (durable in a batch,
  // a link or a file) or in a batch being written (false). One table: an id
  // is claimed, then settled, in place (one lookup and one node a file).
  std::unordered_map<std::string, bool> m_ids;
  std::size_t m_in_flight = 0;  // the entries of m_ids that are false
  // What the pilot archived (mapped once, at construction, after the
  // listing: a batch archived meanwhile was listed or is covered).
  HandledIds m_handled;
};

class InboxReader {
 public:
  // How often the reader's thread archives what moved to accepted/.
  static constexpr std::int64_t kArchiveEveryMs = 10'000;
  // Throws what prepare_pilot_dir throws.
  explicit InboxReader(std::filesystem::path dir);
  // Stops the archiving thread (what it has not archived yet is archived
  // by the next pilot's start).
  ~InboxReader();
  InboxReader(const InboxReader&) = delete;
  InboxReader& operator=(const InboxReader&) = delete;

  // For a pilot at its start: accepted_without_run(), and what accepted/
  // holds whose every owned entry has its run is handed to the archiving
  // thread (archived at once, not before the start goes on).
  Pending recover(const std::function<bool(const std::string&)>& has_run);
  // Archives now what moved to accepted/ so far (the pilot's end). Throws
  // pilot.dir.io, pilot.handled.invalid: then it is tried again later.
  void archive_now();

  // Submissions that appeared in inbox/ since the last call (the first
  // call: everything there), oldest first, then by id. Files that cannot be
  // read, and bad batch lines, are in `bad` (once each); what the archiving
  // thread could not archive since the last call is in `unmoved`.
  Pending fresh();
  // The definition and input of a submission fresh() returned (read from
  // its file again); nullopt when it is gone. Thread-safe.
  std::optional<Submission> find(const std::string& submission_id) const;
  // The run of this submission is durable: moves its file, or its batch
  // once complete, to accepted/. Idempotent; thread-safe. Throws
  // pilot.dir.io.
  void accepted(const std::string& submission_id);

 private:
  struct Batch {
    std::shared_ptr<const std::vector<Json>> definitions;
    std::size_t outstanding = 0;  // owned entries whose run does not exist yet
  };
  struct Entry {
    std::string batch;
    std::size_t offset = 0, length = 0;
  };
  // A file of inbox/ (`file`: NAME.json, NAME.batch) whose read failed
  // with `e`: refused for good (`bad`) when `e` is final (is_final), else
  // reported in `later` and its `key` forgotten from `seen` (m_files,
  // m_batches), so that the next look reads it again.
  void not_read(const std::string& file, const Error& e, std::unordered_set<std::string>& seen,
                const std::string& key, Pending& out);
  void read_batch_file(const std::string& name, Pending& out);
  void move_batch(const std::string& name);
  void archiver();

  std::filesystem::path m_dir;
  fs::detail::UniqueFd m_inbox, m_accepted, m_ledger;
  mutable std::mutex m_mutex;  // the maps below: fresh() on the coordinator's thread, the rest on the runs'
  std::unordered_set<std::string> m_files;    // submission files read (ids)
  std::unordered_set<std::string> m_batches;  // batch files read (names)
  std::unordered_map<std::string, Batch> m_open;    // batches with outstanding entries
  std::unordered_map<std::string, Entry> m_entries;  // outstanding batch entries by id
  // Names in accepted/ whose runs all exist, not archived yet (m_mutex).
  std::vector<std::string> m_to_archive;
  std::vector<std::string> m_archive_said;  // what a pass of the thread could not do (m_mutex), for fresh()
  bool m_stop = false;                      // m_mutex
  bool m_archive_soon = false;              // m_mutex: recover() found some, archive them now
  std::condition_variable m_archive_wake;
  std::mutex m_archive_pass;  // one pass at a time
  std::thread m_archiver;     // last: it uses everything above
};

}  // namespace beamflow::pilot
