#pragma once
// A transfer request, in the shape Globus Transfer users know:
//
//   {"source_endpoint": "beamline", "destination_endpoint": "compute",
//    "transfer_items": [{"source_path": "scan_0042", "destination_path": "in/scan_0042",
//                        "recursive": true}],
//    "sync_level": "checksum", "verify_checksum": true, "preserve_timestamp": true,
//    "delete_destination_extra": false, "submission_id": "scan-0042",
//    "filter_rules": [{"method": "exclude", "name": "*.tmp", "type": "file"}],
//    "checksum_algorithm": "sha256", "chunk_size": 67108864}
//
// Paths are relative to the endpoint roots. sync_level is a name or Globus's
// 0..3; absent means copy everything. Filter rules match file or folder
// *names* (fnmatch globs) in order, the first match decides, nothing matched
// is included (Globus's rule). verify_checksum defaults to true here (a
// verified transfer), checksum_algorithm to xxh128, chunk_size to 64 MiB.
// "DATA_TYPE" keys are accepted and ignored; any other unknown key is an
// error, so a misspelt option is never silently dropped.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "platform/digest.hpp"

namespace beamflow::transfer {

enum class SyncLevel { Exists = 0, Size = 1, Mtime = 2, Checksum = 3 };
const char* to_string(SyncLevel s) noexcept;

struct TransferItem {
  std::string source_path;
  std::string destination_path;
  bool recursive = false;
};

struct FilterRule {
  bool include = false;
  std::string name;  // glob on the last path component
  enum class Type { Any, File, Dir } type = Type::Any;
};

struct TransferRequest {
  std::string source_endpoint;
  std::string destination_endpoint;
  std::vector<TransferItem> items;
  std::optional<SyncLevel> sync_level;
  bool verify_checksum = true;
  bool preserve_timestamp = false;
  bool delete_destination_extra = false;
  std::string submission_id;  // empty: derived from the request's content
  std::vector<FilterRule> filter_rules;
  platform::digest::Algorithm checksum_algorithm = platform::digest::Algorithm::Xxh128;
  std::uint64_t chunk_size = std::uint64_t{64} << 20;

  Json to_json() const;
  // Identifies the request's content (sha256 of its canonical JSON without
  // the submission id), hex.
  std::string fingerprint() const;
  // The submission id, or "t-" + the fingerprint's first 16 hex digits.
  std::string effective_id() const;
  // Whether a file / folder named `name` passes the filter rules.
  bool included(const std::string& name, bool is_dir) const;
};

// Throws transfer.request.invalid naming the field by JSON pointer, or
// transfer.path.escapes for an absolute path or one with "..".
TransferRequest parse_request(const Json& request);

// Checks a path relative to an endpoint root: not absolute, no "..", no
// empty or "." components, no NUL; returns it normalised (no trailing '/';
// "" for the root itself when `allow_root`). Throws transfer.path.escapes.
std::string checked_relative(const std::string& path, const std::string& field, bool allow_root);

}  // namespace beamflow::transfer
