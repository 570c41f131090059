#pragma once
// The run journal: an append-only file of typed, length-prefixed, CRC-checked
// records. One writer per file (the run lock guarantees it). A batch of
// appended records becomes durable in commit(): with one fdatasync, or, for a
// writer given a SyncGroup (platform/sync_group.hpp: the pilot's many runs),
// by waiting for a flush of the file system that started after the write,
// one flush serving every run that committed meanwhile. The engine acts on a
// transition only after commit() returned.
//
// File layout (little endian; constants and codecs in journal/format.hpp):
//   header  : "BFJOURNL" (8 bytes) | u32 version (=1) | u32 flags (=0)
//   record  : u32 sync (0x524A4642, the bytes "BFJR") | u32 length | u32 crc32c |
//             u16 type | u16 flags | payload[length]
//   crc32c covers length, type, flags and payload. Record flags mark the
//   first (1) and the last (2) record of one commit(); other bits are invalid.
// Reading:
//   - a commit counts only when its records run from `first` to `last` with no
//     gap, so a crash part-way through a commit never leaves half of it behind;
//   - a torn tail (short record, bad CRC, garbage, or a commit cut short, with
//     no whole commit after it) ends the journal and is truncated away before
//     new appends;
//   - damage before the tail (a record that does not decode, or a commit
//     broken off, with a whole commit after it) is *not* skipped: skipping a
//     record of an event-sourced log silently changes history. The reader
//     returns the records before it and describes it (ReadReport::damage:
//     byte offset, record number); the writer refuses to append to such a
//     file (journal.corrupt) and the run refuses to replay it until
//     `beamflow repair` has cut the journal back to `good_end`, after telling
//     the user which records that drops (ReadReport::after_damage).
//     Only a torn tail is ever cut without asking.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace beamflow::fs {
class SyncGroup;
}

namespace beamflow::journal {

struct Record {
  std::uint16_t type = 0;
  std::vector<std::uint8_t> payload;
  std::uint64_t offset = 0;  // byte offset in the file (set by the reader)
};

// The first damage before the tail.
struct Damage {
  std::uint64_t offset = 0;      // first byte that breaks the journal
  std::uint64_t good_end = 0;    // end of the last whole commit before it: what a repair keeps
  std::size_t record = 0;        // 0-based number of the damaged record among the records that decode
  std::optional<std::uint16_t> type;  // its type as its header reads, when it has one (unverified)
  std::string what;              // why the bytes there break the journal
};
// "damaged at byte 1234 (record #6 of the journal, whose header names type 2): ..."
std::string describe(const Damage& d);

struct ReadReport {
  std::vector<Record> records;       // the whole commits before any damage
  std::uint64_t valid_end = 0;       // end offset of the last whole commit in the file
  std::uint64_t file_size = 0;
  std::size_t skipped_records = 0;   // stretches that do not decode before valid_end
                                     // (one per stretch: its record count is unknowable)
  bool torn_tail = false;            // bytes after valid_end (what a crash leaves), cut on append
  std::optional<Damage> damage;      // damage before the tail: the history cannot be replayed
  std::vector<Record> after_damage;  // with damage: every record that decodes after good_end
                                     // (what a repair drops)
};

// Reads every record of the whole commits before any damage. Throws
// beamflow::Error "journal.open" when the file cannot be opened or is not a
// regular file, "journal.header" when its header is not a beamflow journal
// (or a version this build cannot read), "journal.io" when a read fails.
// Never throws for damaged records: the caller decides (see ReadReport::damage).
ReadReport read_journal(const std::filesystem::path& file);
// The same on bytes already in memory (`file` only names it in errors).
ReadReport parse_journal(const std::uint8_t* data, std::size_t size,
                         const std::filesystem::path& file);

enum class Durability { Fsync, None };

// How a Writer makes its file durable (with Durability::Fsync).
struct WriterOptions {
  // commit() waits for the group's flush instead of an fdatasync of its own
  // (and falls back to fdatasync when the group declines). Not owned.
  fs::SyncGroup* group = nullptr;
  // create() syncs nothing and writes the journal in place (no temporary
  // name): the new journal (its header, and its name in the directory)
  // becomes durable with the first commit, which then also fsyncs the
  // directory (or is a group flush). Until then a crash may leave no
  // journal, or one whose header is missing or short: only for a caller that
  // throws such a file away (the run directory's creation does: a run is
  // complete only once its journal's first commit is whole, run_store.hpp).
  bool defer_create_sync = false;
  // With defer_create_sync: a second directory whose entries the first commit
  // makes durable too when it syncs on its own (no group, or the group
  // declined): the run directory's own name in the runs root. With
  // sync_found: the same directory, made durable by open_append.
  std::filesystem::path create_sync_parent;
  // open_append makes durable what it found before returning (with
  // Durability::Fsync): the journal's data, its name in its directory and
  // create_sync_parent's entries, as the first commit of a deferred
  // creation does (one group flush, or an fdatasync and the directories'
  // fsyncs). For a caller about to act on what it read (a resume): a
  // journal written by a process killed before its sync may be only in the
  // page cache, and a machine crash could then lose a history already acted
  // on. Never on a hot path: once per open.
  bool sync_found = false;
};

// Compaction: replaces `file` with a journal holding exactly `records` (their
// offsets are ignored), each its own commit, by writing a new file beside it
// and renaming it over, so a crash leaves the old journal or the new one. Close
// the file's Writer first; open_append afterwards. Throws "journal.io", or
// "journal.record_too_large" before touching anything.
void rewrite_journal(const std::filesystem::path& file, const std::vector<Record>& records,
                     Durability durability);

class Writer {
 public:
  // Creates a new journal (fails with "journal.exists" if present) or opens an
  // existing one for append, first truncating a torn tail (and syncing what
  // it found: WriterOptions::sync_found). Throws
  // beamflow::Error ids "journal.open" (also for a file that is not a regular
  // file) / "journal.io", and "journal.corrupt" for a journal damaged before
  // its tail (nothing is appended to it; see ReadReport::damage).
  static Writer create(const std::filesystem::path& file, Durability durability,
                       const WriterOptions& options = {});
  static Writer open_append(const std::filesystem::path& file, Durability durability,
                            const WriterOptions& options = {});

  Writer(Writer&&) noexcept;
  Writer& operator=(Writer&&) noexcept;
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;
  ~Writer();

  // Buffers a record; nothing reaches the file before commit(). Throws
  // "journal.record_too_large" for a payload over format::max_payload (256 MiB).
  void append(std::uint16_t type, const std::vector<std::uint8_t>& payload);
  // Writes the buffered records and (with Durability::Fsync) fdatasyncs, or
  // waits for the group's flush (WriterOptions); a no-op with nothing
  // buffered. A failed group flush is handled as a failed fdatasync. Throws "journal.io" on failure; the buffer
  // is then left untouched and the file cut back to its last commit, so the
  // records are never written twice. A failed write leaves the writer usable
  // (the error is retryable()); a failed fdatasync or cut-back closes it, and
  // later commits throw "journal.closed": reopen with open_append.
  void commit();

  // Bytes and records this writer committed (the file header not counted).
  std::uint64_t bytes_written() const noexcept { return m_bytes_written; }
  std::uint64_t records_written() const noexcept { return m_records_written; }
  std::size_t commits() const noexcept { return m_commits; }
  // Records appended since the last successful commit.
  std::size_t buffered_records() const noexcept { return m_buffered_records; }
  // Size of the journal file up to the last commit (header included).
  std::uint64_t file_size() const noexcept { return m_file_size; }
  const std::filesystem::path& path() const noexcept { return m_path; }

 private:
  Writer() = default;
  void close() noexcept;
  void cut_back_after_failure() noexcept;
  int make_durable() noexcept;
  std::filesystem::path m_path;
  int m_fd = -1;
  std::uint64_t m_file_size = 0;
  Durability m_durability = Durability::Fsync;
  fs::SyncGroup* m_group = nullptr;
  // The next sync makes the journal's name (and m_create_sync_parent's
  // entries) durable too: a deferred creation, or a journal found (sync_found).
  bool m_names_pending = false;
  std::filesystem::path m_create_sync_parent;  // WriterOptions::create_sync_parent
  std::vector<std::uint8_t> m_buffer;
  std::size_t m_buffered_records = 0;
  std::uint64_t m_bytes_written = 0;
  std::uint64_t m_records_written = 0;
  std::size_t m_commits = 0;
};

// CRC-32C (Castagnoli), exposed for tests.
std::uint32_t crc32c(const std::uint8_t* data, std::size_t size, std::uint32_t seed = 0) noexcept;

}  // namespace beamflow::journal
