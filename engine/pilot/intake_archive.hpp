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
//   handled.ids        every id of every submission archived: 16-byte keys
//                      (XXH3-128 of the id), sorted, after a 16-byte header.
//                      A watcher maps it at start and asks it about an id
//                      not known otherwise (a binary search): an id derives
//                      from a file's (registration, dev, ino, size,
//                      mtime_ns) and may come back (rsync -t), so no id is
//                      ever dropped. Replaced whole (a temporary, fsync,
//                      rename, fsync of D) before anything it covers moves.
//
// Crash safety: the runs are synced (syncfs) before the ids are written, the
// ids are durable before a file moves, and a move repeated after a crash is
// harmless (ids are a set). Killed at any instant, each id is in accepted/
// or covered by handled.ids (or both), and in accepted/ only while its run
// exists: a start runs nothing twice and a watcher hands nothing over twice.
#include <array>
#include <cstddef>
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

// D/handled.ids, mapped read-only: a later archive pass replaces the file
// (rename), this mapping keeps the version it opened.
class HandledIds {
 public:
  HandledIds() = default;
  // None yet: empty. Throws pilot.dir.io when it cannot be read, and
  // pilot.handled.invalid when it is not a handled.ids file (then no id may
  // be told new: a watcher does not start).
  explicit HandledIds(const std::filesystem::path& dir);
  HandledIds(HandledIds&&) noexcept;
  HandledIds& operator=(HandledIds&&) noexcept;
  HandledIds(const HandledIds&) = delete;
  HandledIds& operator=(const HandledIds&) = delete;
  ~HandledIds();

  bool contains(std::string_view id) const;
  bool contains(const HandledKey& key) const;
  std::size_t size() const noexcept { return m_count; }
  const HandledKey* begin() const noexcept { return m_keys; }
  const HandledKey* end() const noexcept { return m_keys + m_count; }

 private:
  void* m_map = nullptr;
  std::size_t m_length = 0;
  const HandledKey* m_keys = nullptr;
  std::size_t m_count = 0;
};

// The steps of archive(), for tests that stop it between them.
enum class ArchiveStep { RunsSynced, IdsWritten, IdsRenamed, IdsDurable, Moved, Done };

// Moves `names` (ID.json, B.batch: entries of accepted/ whose every owned
// entry has its run) to accepted/archive/: syncs the file system of runs/
// (the runs and the moves into accepted/ are durable), writes handled.ids
// with their ids added (unless it holds them all), then moves them and syncs
// both folders. A name no longer in accepted/ is skipped (archived before);
// one whose ids cannot be read stays, named in the result ("accepted/NAME:
// why"). One caller at a time: the pilot (pilot.lock). Throws pilot.dir.io,
// pilot.handled.invalid. `at`: called after each step.
std::vector<std::string> archive(const std::filesystem::path& dir, const std::vector<std::string>& names,
                                 const std::function<void(ArchiveStep)>& at = {});

}  // namespace beamflow::pilot
