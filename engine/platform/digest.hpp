#pragma once
// Streaming checksums, self-describing: "xxh128:<32 hex>" (XXH3 128-bit, the
// canonical big-endian form `xxhsum -H2` prints) or "sha256:<64 hex>" (what
// `sha256sum` prints). xxh128 is the default: ~20 GB/s per core, so hashing
// costs nothing beside the copy; sha256 is there for whoever must compare
// with sha256sum or an archive's records. One implementation for every
// digest beamflow records: verified transfer's per-file and per-chunk
// checksums, a reconstruction's input identity.
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

namespace beamflow::platform::digest {

enum class Algorithm { Xxh128, Sha256 };

const char* to_string(Algorithm a) noexcept;  // "xxh128", "sha256"
// Accepts "xxh128", "sha256" (any case, also "SHA-256").
std::optional<Algorithm> parse_algorithm(std::string_view name);

class Hasher {
 public:
  explicit Hasher(Algorithm algorithm);
  ~Hasher();
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  Algorithm algorithm() const noexcept { return m_algorithm; }
  void update(const void* data, std::size_t size);
  // An independent hasher in the same state (to hash data tentatively).
  Hasher clone() const;
  // "xxh128:..." / "sha256:..."; the hasher starts over afterwards.
  std::string finish();

 private:
  struct State;
  Algorithm m_algorithm;
  std::unique_ptr<State> m_state;
};

// The digest of a file, self-describing: one sequential pass of 1 MiB reads
// (~1 GB/s). nullopt when `stop` was requested before the end: for a digest
// started on a helper thread before the process knows it will need it,
// which must not keep the process alive when it does not. Throws fs.read
// (file=, with the errno text) when the file cannot be opened or read, or
// is not a regular file (a FIFO would block forever).
std::optional<std::string> file_digest(const std::filesystem::path& path, Algorithm algorithm, std::stop_token stop);

// One-shot xxh128 of a buffer, self-describing.
std::string xxh128_of(const void* data, std::size_t size);
// XXH3 64-bit of a buffer (the manifest's per-line check).
unsigned long long xxh64_of(std::string_view data);

}  // namespace beamflow::platform::digest
