#pragma once
// What a pilot directory has handled, kept apart from the runs' directories
// and from what a start reads. Users delete old run directories to free
// space; a submission whose run is gone must never run again, and a pilot's
// or a watcher's start must not read every submission ever handled.
//
//   accepted/archive/  submission files (ID.json) and batches (B.batch) whose
//                      every owned entry has its run, moved out of accepted/
//                      by the pilot once those runs are durable and
//                      handled.ids covers their ids. Never read by a start;
//                      read by lookups (find_submission, list_submissions).
//   handled.ids        the ids of every submission archived, in a base file
//   handled.ids.N      and delta files: 16-byte keys (XXH3-128 of the id),
//                      sorted, after a 32-byte header. The base also says
//                      which deltas it holds (1..covered); a reader adds
//                      covered+1, covered+2, ... up to the first missing.
//                      A pass writes its new ids as the next delta (a few
//                      hundred bytes where rewriting the base was 3.2 MB at
//                      200,000 ids, every 10 s), and folds the deltas into
//                      a new base when they grow past HandledFold's bounds.
//                      Deltas are written only beside a base of this
//                      format (a pass finding none, or a format 1 base from
//                      before deltas, writes a base instead): a binary from
//                      before deltas refuses this base (pilot.handled.
//                      invalid) rather than read it without its deltas and
//                      hand an archived id over again.
//                      Each file is written whole (a temporary, fsync,
//                      rename, fsync of D) before anything it covers moves;
//                      a fold renames the new base before it removes the
//                      deltas it holds. A watcher reads them at start and
//                      asks them about an id not known otherwise (a binary
//                      search in the mapped base and one in the deltas'
//                      keys): an id derives from a file's (registration,
//                      dev, ino, size, mtime_ns) and may come back (rsync
//                      -t), so no id is ever dropped.
//
// Crash safety: the runs are synced (syncfs) before the ids are written, the
// ids are durable before a file moves, and a move repeated after a crash is
// harmless (ids are a set). Killed at any instant, each id is in accepted/
// or covered by handled.ids and its deltas (or both), and in accepted/ only
// while its run exists: a start runs nothing twice and a watcher hands
// nothing over twice. A fold killed before its rename leaves the old base
// and every delta; after it, the deltas it holds are ignored (<= covered)
// and removed by the next fold.
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace beamflow::pilot {

using HandledKey = std::array<unsigned char, 16>;
// The key handled.ids holds for `id` (XXH3-128, big-endian: byte order is
// numeric order).
HandledKey handled_key(std::string_view id);

// D/handled.ids (mapped read-only) and its deltas (read into memory): one
// consistent version (a fold that replaces the base while they are read
// makes them read again); a later pass or fold does not change it.
class HandledIds {
 public:
  HandledIds() = default;
  // None yet: empty. Throws pilot.dir.io when they cannot be read, and
  // pilot.handled.invalid when the base or a delta is not such a file (then
  // no id may be told new: a watcher does not start).
  explicit HandledIds(const std::filesystem::path& dir);
  HandledIds(HandledIds&&) noexcept;
  HandledIds& operator=(HandledIds&&) noexcept;
  HandledIds(const HandledIds&) = delete;
  HandledIds& operator=(const HandledIds&) = delete;
  ~HandledIds();

  bool contains(std::string_view id) const;
  bool contains(const HandledKey& key) const;
  std::size_t size() const noexcept { return m_count + m_delta.size(); }

  // For archive(): the base's keys, the deltas' (sorted, none in the
  // base), the last delta the base holds and the last one read.
  const HandledKey* base_begin() const noexcept { return m_keys; }
  const HandledKey* base_end() const noexcept { return m_keys + m_count; }
  const std::vector<HandledKey>& delta_keys() const noexcept { return m_delta; }
  std::uint64_t covered() const noexcept { return m_covered; }
  std::uint64_t last_delta() const noexcept { return m_last; }
  // A base of the current format: a delta may be added beside it.
  bool takes_deltas() const noexcept { return m_format2; }

 private:
  bool load(const std::filesystem::path& dir);
  void unmap() noexcept;

  void* m_map = nullptr;
  std::size_t m_length = 0;
  const HandledKey* m_keys = nullptr;
  std::size_t m_count = 0;
  std::vector<HandledKey> m_delta;
  std::uint64_t m_covered = 0, m_last = 0;
  bool m_format2 = false;
};

// When a pass folds the deltas into a new base instead of adding one: when
// there would be `max_deltas` of them, or when they would hold more than
// one key per `base_keys_per_delta_key` keys of the base (0: never by
// size). The defaults keep a pass's writes near its own ids' and a fold
// every 16 passes at most while the base is large; a lookup costs a search
// of the base and one of the deltas' keys whatever their number.
struct HandledFold {
  std::size_t max_deltas = 16;
  std::size_t base_keys_per_delta_key = 8;
};

// The steps of archive(), for tests that stop it between them.
// IdsWritten/IdsRenamed/IdsDurable: the pass's delta, or the new base of a
// fold; Cleaned: a fold's deltas (and temporaries a killed pass left) gone.
enum class ArchiveStep { RunsSynced, IdsWritten, IdsRenamed, IdsDurable, Moved, Done, Cleaned };

// Moves `names` (ID.json, B.batch: entries of accepted/ whose every owned
// entry has its run) to accepted/archive/: syncs the file system of runs/
// (the runs and the moves into accepted/ are durable), writes the ids not
// yet handled as the next delta (or, past `fold`'s bounds or without a
// current-format base, a new base holding the old one, every delta and
// them), then moves the names, syncs
// both folders, and after a fold removes the deltas it holds. A name no
// longer in accepted/ is skipped (archived before); one whose ids cannot be
// read stays, named in the result ("accepted/NAME: why"). One caller at a
// time: the pilot (pilot.lock). Throws pilot.dir.io, pilot.handled.invalid.
// `at`: called after each step.
std::vector<std::string> archive(const std::filesystem::path& dir, const std::vector<std::string>& names,
                                 const std::function<void(ArchiveStep)>& at = {}, const HandledFold& fold = {});

}  // namespace beamflow::pilot
