#pragma once
// How flows reach a pilot: a directory hand-off that needs no running pilot,
// no server and no lock, and is safe with any number of concurrent
// submitters. `beamflow submit` returns a run id at once; a pilot that starts
// later (or is running now) accepts what is waiting.
//
// Layout of a pilot directory (owner-only: 0700, files 0600):
//   inbox/ID.json     a submission, ID its submission id. Written to a
//                     temporary name, fsync'ed, then link(2)ed to its final
//                     name: link fails with EEXIST when the id was used, so
//                     two submitters racing with one id produce exactly one
//                     submission, and a retried submit (the client died before
//                     it saw the answer) gets the first one's run id back
//                     (idempotent, like Globus Transfer's submission_id).
//   accepted/ID.json  moved here by the pilot once the run's journal exists
//                     under runs/RUN_ID: a crash between the two steps is
//                     repaired at the next start (the run exists: just move).
//                     One found here without its run (a machine crash that
//                     kept the unsynced move and lost an unsynced creation)
//                     is started by the next pilot.
//   inbox/B.batch     a batch file: many submissions in one file, written
//                     to a temporary, synced, then linked under its unique
//                     name B. JSON lines: a header {"beamflow_batch": V,
//                     "batch": B, "submitted_at_ms", "uid", "definitions":
//                     [...]}, then one {"definition": INDEX, "input",
//                     "run_id", "submission_id"} per line (in that order).
//                     V 1 (Intake::submit_batch_file: `beamflow submit
//                     --batch` without --id; a trigger watcher before
//                     format 2): its entries are owned through ledger/
//                     links, below. V 2 (pilot::BatchLedger, a trigger
//                     watcher's): the batch is its own ledger entry, it owns
//                     every entry that no ledger link gives to another
//                     batch, with no link of its own (a link per entry was
//                     the largest cost of a file's hand-off on disk). Its
//                     ids are unique because one process at a time writes
//                     them (the watcher lock, below), which knows every id
//                     handed over (it indexes ledger/, the submission files
//                     and every batch's entries at start), and because
//                     every other hand-off refuses an id in the watcher's
//                     namespace (is_watcher_id). A pilot that reads one
//                     fsyncs inbox/ before any of its runs starts.
//   watcher.lock      flock(2)ed by the trigger watcher that hands over to
//                     this directory (BatchLedger; pilot.ledger.locked for
//                     a second one); released when it exits or is killed.
//   ledger/ID         a hard link to the format 1 batch file that owns submission
//                     ID (a name, no inode of its own: cheap to make).
//                     link(2) never replaces, so of several batches holding
//                     one id (a rescan, two watchers, a restart) the first
//                     to link it owns it; another batch's entry with that id
//                     is a duplicate, never run. The writer links
//                     its entries after the batch is durable in inbox/; a
//                     pilot that reads a batch first links the missing ones
//                     itself (intake_batch.hpp), so a link never points to
//                     a batch that is not there.
//   accepted/B.batch  moved here by the pilot once every entry B owns has a
//                     run under runs/ (kept: a format 2 batch here is still
//                     the ledger entry of its ids).
//   accepted/archive/ what accepted/ held, once its runs are durable and
//   handled.ids       handled.ids covers its ids: a start reads neither, so
//                     a run directory a user deleted does not make its
//                     submission run again, and a start's work grows with
//                     recent submissions, not with history
//                     (intake_archive.hpp).
//   runs/             the pilot's runs, as in $BEAMFLOW_HOME/runs.
//   cancel/RUN_ID     a cancel request (beamflow cancel), acted on by the pilot.
//   status.json       what the running pilot publishes (ranks, queue), atomically.
//
// A submission file is {"submission_id", "run_id", "submitted_at_ms", "uid",
// "definition", "input"}. The decision which submissions to accept, and in
// which order, is a pure function of the listing (pending()).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/json.hpp"
#include "platform/posix_file.hpp"

namespace beamflow::pilot {

struct Submission {
  std::string submission_id;
  std::string run_id;
  std::int64_t submitted_at_ms = 0;
  std::int64_t uid = -1;
  Json definition;
  Json input;
  Json to_json() const;
  // Throws pilot.submission.invalid naming `file` and the field.
  static Submission from_json(const Json& j, const std::string& file);
};

struct SubmitResult {
  std::string run_id;
  bool existed = false;  // the id had been submitted before: its run id
};

// Creates the directory (0700) and its folders when missing. Throws
// pilot.dir.unsafe when it exists but belongs to another user or others can
// write to it (their submissions would run as us), pilot.dir.io on I/O
// errors.
void prepare_pilot_dir(const std::filesystem::path& dir);

// A submission id: letters, digits, '-', '_' and '.', 1-128 characters, not
// starting with '.'. Throws pilot.submission.id otherwise.
void check_submission_id(const std::string& id);

// Whether `id` is in a trigger watcher's namespace: REGISTRATION.f and 32
// hex digits (a file's identity), REGISTRATION.t and 10 or more digits (a
// timer's instant in ms), as triggers/event.hpp makes them. Only the watcher's
// BatchLedger (intake_batch.hpp) hands those over; submit() and
// Intake::submit_batch_file refuse them (pilot.submission.id), so the
// watcher's in-memory index sees every hand-off of its ids.
bool is_watcher_id(std::string_view id);

// Hands a flow to the pilot directory. `submission_id` empty: a fresh one.
// The same id submitted again returns the first run id when definition and
// input are the same, and throws pilot.submission.conflict when they differ
// (a reused id must never silently run something else). One hand-off:
// prepares the directory and pays two fsyncs; Intake does many at once.
SubmitResult submit(const std::filesystem::path& dir, const Json& definition, const Json& input,
                    const std::string& submission_id = {});

// Many hand-offs at the cost of a few: a pilot directory prepared and checked
// once (prepare_pilot_dir), then batches of submissions, each batch made
// durable with one sync of the file data and one fsync of inbox/, whatever
// its size. For callers that hand over many flows: a trigger watcher, a
// `beamflow submit` of many inputs.
//
// Each submission of a batch has what submit() promises, the same file
// layout and the same answers:
//   - it is handed over wholly or not at all: it is written to a temporary
//     file (anonymous, O_TMPFILE, where the file system allows: nothing is
//     left behind by a crash), its data made durable (one syncfs(2) of the
//     file system for the whole batch, an fsync of the file for a batch of
//     one), and only then link(2)ed into inbox/ under its name, so no
//     half-written inbox entry is ever visible, even after a crash;
//   - it is idempotent by submission id: the link never replaces, an id
//     already in inbox/ or accepted/ (or twice in one batch) answers the
//     first run id when definition and input are equal, and
//     pilot.submission.conflict when they differ;
//   - it is durable when submit() returns: inbox/ is fsync'ed after the
//     batch's last link.
// Thread-safe: several threads (or processes) may submit batches into one
// directory at once; an id raced by two batches is handed over once.
class Intake {
 public:
  // Throws what prepare_pilot_dir throws.
  explicit Intake(std::filesystem::path dir);
  const std::filesystem::path& dir() const noexcept { return m_dir; }

  struct Item {
    std::shared_ptr<const Json> definition;  // shared: a batch often runs one flow many times
    Json input;
    std::string submission_id;  // empty: a fresh one
  };
  struct Outcome {
    std::string submission_id;  // the fresh one when the item had none
    std::string run_id;         // empty when `error` is set
    bool existed = false;       // handed over before (or earlier in this batch): its run id
    // This item only, the rest of the batch is handed over:
    // pilot.submission.id, pilot.submission.conflict, or pilot.submission.invalid
    // (the file already under this id cannot be read).
    std::optional<Error> error;
  };
  // How an id already handed over is answered. Verify: its file is read,
  // its run id returned, a different flow or input is a conflict. Trust:
  // existed, with an empty run id, without reading it (for callers whose ids
  // name their content, such as a trigger's file identity, and that only
  // need to know it is there).
  enum class Existing { Verify, Trust };
  // One outcome per item, in order. Throws pilot.dir.io when the directory
  // cannot be written or synced: then any item may or may not have been
  // handed over, and submitting the same ids again is safe (idempotent).
  std::vector<Outcome> submit(const std::vector<Item>& batch, Existing existing = Existing::Verify);

  // The whole batch as ONE file (inbox/B.batch) and one ledger link per
  // submission: one write, one fsync of the file, one of inbox/ and one of
  // ledger/, and a link(2) per item, whatever the batch's size (submit()
  // costs a file, a link and two lookups per item). For callers whose ids
  // name their content (Existing::Trust: an id already owned by a batch or
  // a submission file answers `existed` with an empty run id, unread), such
  // as a trigger's file identity. Each item is handed over wholly or not at
  // all (the batch is durable in inbox/ before any link to it exists), and
  // every id is run once, by the batch that owns it. Errors as submit().
  std::vector<Outcome> submit_batch_file(const std::vector<Item>& batch);

  // is_submitted(), without the path walks.
  bool handed_over(const std::string& submission_id) const;

 private:
  std::filesystem::path m_dir;
  fs::detail::UniqueFd m_inbox, m_accepted, m_archive, m_ledger;  // the batch's system calls work relative to these
  bool m_anonymous = false;                   // temporaries are O_TMPFILE files
};

// Submissions in inbox/ (files, and the entries of batch files that they
// own or that no batch owns yet), oldest first (then by id): what the pilot
// accepts next. A file that cannot be read or parsed is reported in `bad`,
// never stops the others.
struct Pending {
  std::vector<Submission> ready;
  std::vector<std::string> bad;  // refused: "inbox/X.json: why"
  // InboxReader::fresh() only: what could not be read for the moment's
  // reason (is_final() false: EMFILE, EIO, a full disk), "inbox/X.json:
  // why"; the next look reads it again.
  std::vector<std::string> later;
  // InboxReader::fresh() only: what has every run but could not be moved
  // on (nothing refused, nothing to read again): a batch read and handed on
  // that could not be moved to accepted/ (the next pilot moves it),
  // "inbox/X.batch: why", and what the reader's archive pass could not
  // archive (tried again later), "accepted/...: why".
  std::vector<std::string> unmoved;
};
Pending pending(const std::filesystem::path& dir);

// Whether an error met reading a submission refuses it for good: only a
// submission whose content is bad (pilot.submission.invalid) is; any other
// is the moment's, and it is read (or its run driven) again.
bool is_final(const Error& e) noexcept;

// After the run's journal is durable: moves inbox/ID.json to accepted/.
// Idempotent (also once archived). Not synced: a move a crash undoes is made again (intake.cpp).
void mark_accepted(const std::filesystem::path& dir, const std::string& submission_id);

// Whether this id was handed over (in ledger/, inbox/, accepted/ or
// accepted/archive/): four lstat(2)s and no parse; for an id in the
// watcher's namespace not found so, the format 2 batches of inbox/ and
// accepted/ are read too, and handled.ids asked (a watcher knows its own ids
// from memory: BatchLedger::handed_over).
bool is_submitted(const std::filesystem::path& dir, const std::string& submission_id);

// The submission with this id, from inbox/, accepted/ or accepted/archive/
// (a file, or the entry of the batch that owns it); nullopt if none.
std::optional<Submission> find_submission(const std::filesystem::path& dir, const std::string& submission_id);

// Every submission handed over, in inbox/, accepted/ and accepted/archive/,
// files and owned batch entries, each id once: what was handed to this
// pilot directory (tests, benchmarks, audits).
std::vector<Submission> list_submissions(const std::filesystem::path& dir);

// list_submissions() for callers that must see past a damaged file (a
// client's lookup, a pilot at its start): a file that cannot be read is
// left out of `ready` and named in `bad` ("accepted/X.json: why"), never
// thrown. `ready` is in listing order, not pending()'s.
// All: accepted/archive/ too (audits, tests); the others leave it out.
enum class Folders { InboxAndAccepted, Accepted, All };
Pending list_readable(const std::filesystem::path& dir, Folders folders = Folders::InboxAndAccepted);

// list_readable(dir, Folders::Accepted) less what `has_run(submission_id)`
// says has its run, told from names without reading it: a submission
// file's name is its id, and a batch file is read only when an id whose
// ledger entry is that batch (ledger/ID, a hard link: one stat) has no run.
// For a pilot at its start: accepted/ keeps what was run since its last
// archive pass. `complete`: the names in accepted/ (ID.json, B.batch) whose
// every owned entry has its run are added to it (archive()'s input).
Pending accepted_without_run(const std::filesystem::path& dir,
                             const std::function<bool(const std::string&)>& has_run,
                             std::vector<std::string>* complete = nullptr);

}  // namespace beamflow::pilot
