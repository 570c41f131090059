#pragma once
// BagIt (RFC 8493) bags: the layout a published dataset version is stored
// in, so `bagit.py --validate` or any other BagIt tool can check it without
// beamflow:
//   bagit.txt  bag-info.txt  manifest-sha256.txt  tagmanifest-sha256.txt  data/...
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace beamflow::catalog {

struct ManifestEntry {
  std::string path;  // relative to the bag, "data/..." (not percent-encoded)
  std::uint64_t size = 0;
  std::string sha256;
};

struct Manifest {
  std::vector<ManifestEntry> files;  // sorted by path
  std::uint64_t bytes = 0;
  std::string digest;  // sha256 of manifest-sha256.txt: what the catalog records
};

// Copies `source` (a regular file, or every regular file below a directory)
// into `bag`/data/, hashing each file as it is copied (one read), then
// writes the tag files. Every file and directory is fsynced before this
// returns, so renaming `bag` into place afterwards publishes complete data.
// `bag` must not exist. `after_file` runs after each payload file (a test
// hook). Throws dataset.source (unreadable source, a symlink, a special
// file, no files) or dataset.storage (a write or fsync failed).
Manifest write_bag(const std::filesystem::path& source, const std::filesystem::path& bag,
                   const std::vector<std::pair<std::string, std::string>>& bag_info,
                   const std::function<void(const ManifestEntry&)>& after_file = {});

// The same bag without a copy: `source` (absolute) stays where it is, each
// file is read once to hash it, and the bag holds only the tag files plus
// fetch.txt (RFC 8493 section 2.2.3: a "holey" bag whose payload lines are
// file:// URLs of the files in place). A directory source is also named in
// bag-info.txt (kSourceDirectoryTag), so verify reports files added to it.
Manifest write_bag_in_place(const std::filesystem::path& source, const std::filesystem::path& bag,
                            const std::vector<std::pair<std::string, std::string>>& bag_info,
                            const std::function<void(const ManifestEntry&)>& after_file = {});
inline constexpr const char* kSourceDirectoryTag = "Source-Directory";

// The manifest recorded in `bag` (reads manifest-sha256.txt). Throws
// dataset.verify.failed when it is missing or malformed.
Manifest read_manifest(const std::filesystem::path& bag);

struct BagProblem {
  std::string path;  // "data/scan.h5", "manifest-sha256.txt"
  std::string what;  // "sha256 mismatch", "missing", "not in the manifest", ...
};

// Re-reads every file of the bag (a payload file listed in fetch.txt where
// that says) against its manifests (payload and tag) and Payload-Oxum,
// and the manifest itself against `expected_digest` (empty: not checked).
// Empty when the bag is intact.
std::vector<BagProblem> verify_bag(const std::filesystem::path& bag, const std::string& expected_digest);

// RFC 8493 section 2.1.3: CR, LF and '%' in manifest paths are percent-encoded.
std::string encode_manifest_path(const std::string& path);
std::string decode_manifest_path(const std::string& path);

}  // namespace beamflow::catalog
