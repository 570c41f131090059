#pragma once
// The planner: what to do with each source file, decided from the sync
// level, the destination's state and whether this is a retry. Pure: no I/O,
// so every rule is unit-tested (tests/transfer/plan_test.cpp).
//
//   destination missing                  -> copy
//   destination is a folder              -> error transfer.destination.conflict
//   retry of an attempt that did not end -> compare checksums, whatever the
//                                           sync level (globus-cli #202: a
//                                           retry must not trust size/mtime)
//   no sync_level                        -> copy (overwrite)
//   exists                               -> skip
//   size                                 -> skip when sizes are equal
//   mtime                                -> skip when sizes are equal and the
//                                           destination is not older (seconds)
//   checksum                             -> compare checksums
//
// "compare" is decided by the rank that owns the file: equal checksums skip
// it, different ones copy it.
#include <sys/stat.h>

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "jobs/transfer/request.hpp"

namespace beamflow::transfer {

// What identifies a source file's content for resume: a manifest record
// made for another (size, mtime, inode) no longer applies.
struct SourceIdentity {
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::uint64_t inode = 0;
  friend bool operator==(const SourceIdentity&, const SourceIdentity&) = default;
};

// A file time as the manifest and the plan keep it: whole nanoseconds.
constexpr std::int64_t nanoseconds(const timespec& t) noexcept {
  return std::int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
}

// The one place a stat becomes an identity, so the scan that plans a file and
// the copier that checks it has not changed since compare the same fields.
inline SourceIdentity identity_of(const struct stat& st) noexcept {
  return {static_cast<std::uint64_t>(st.st_size), nanoseconds(st.st_mtim), static_cast<std::uint64_t>(st.st_ino)};
}

struct DestInfo {
  bool exists = false;
  bool is_dir = false;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
};

enum class Decision { Copy, Skip, Compare };
const char* to_string(Decision d) noexcept;  // "copy", "skip", "compare"

struct PlannedFile {
  std::string source;       // relative to the source root
  std::string destination;  // relative to the destination root
  SourceIdentity identity;
  std::uint32_t mode = 0644;
  std::int64_t atime_ns = 0;
  Decision decision = Decision::Copy;
  std::string reason;       // why skipped / compared
  int rank = 0;             // who copies it

  Json to_json() const;
  static PlannedFile from_json(const Json& j);
};

struct Decided {
  Decision decision;
  std::string reason;
};

// Throws transfer.destination.conflict when the destination is a folder.
Decided decide(const PlannedFile& file, const DestInfo& dest, const std::optional<SyncLevel>& level, bool retry);

// Gives every file an owning rank: largest first to the least loaded rank
// (LPT), ties to the lowest rank, so every rank computes the same answer.
// A file is copied whole by one rank, in chunks: the whole-file checksum is
// then computed in the one read of the source (sha256 cannot be combined
// from pieces hashed on different ranks).
void assign_ranks(std::vector<PlannedFile>& files, int ranks);

}  // namespace beamflow::transfer
