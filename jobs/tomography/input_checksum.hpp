#pragma once
// How a reconstruction identifies its input: a digest of the input *file*
// rather than of the data it read, so that anyone can check it without
// HDF5; it covers everything that changes the result (projections, flats,
// darks, angles and their units); and it exists before any slice is read,
// which is when a resumed run must decide whether an existing output
// belongs to this input. Self-describing, in the form verified transfer
// records too (platform/digest.hpp): "xxh128:<32 hex>" by default, as
// `xxhsum -H2` prints it, whose read of the file costs a tenth of SHA-256's
// CPU (0.02 against 0.21 s for a 200 MB input: the SHA-256 was ~0.2 s of
// CPU competing with the kernels on every run, bench/RESULTS.md); or
// "sha256:<64 hex>" on request, as `sha256sum` prints it, which is also
// what an older beamflow's volume records (as the bare hex input_sha256).
// The cost is one sequential read of the file on one rank, hidden when
// hashing starts early (InputChecksum).
#include <filesystem>
#include <future>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "platform/digest.hpp"

namespace beamflow::jobs {

using DigestKind = platform::digest::Algorithm;

// The self-describing digest of a file; its failure reported as the input's
// problem: tomo.input.unreadable (file=).
std::string file_digest(const std::filesystem::path& path, DigestKind kind);
// The kind a recorded digest names; nullopt when it names none we know.
std::optional<DigestKind> digest_kind(std::string_view digest);
// "sha256:<hex>" <-> the bare hex an older volume records as input_sha256.
std::string sha256_digest(std::string_view hex);
std::optional<std::string> sha256_hex_of(std::string_view digest);

// The digest of a file, hashed on a helper thread from construction on,
// so that it overlaps what the process does meanwhile: `beamflow recon`
// starts it on rank 0 before the parallel runtime, whose MPI_Init under
// mpirun is 0.1-0.3 s spent mostly waiting for the launcher, and the
// reconstruction asks for it before it looks at an existing output.
// Destroyed without having been asked (the run failed first), it stops
// hashing at its next 1 MiB read instead of keeping the process alive to
// finish.
class InputChecksum {
 public:
  explicit InputChecksum(std::filesystem::path path, DigestKind kind = DigestKind::Xxh128);
  const std::filesystem::path& path() const noexcept { return m_path; }
  DigestKind kind() const noexcept { return m_kind; }
  // Waits for the digest: file_digest(path(), kind()), or its error (a
  // second call hashes again).
  std::string get();

 private:
  std::filesystem::path m_path;
  DigestKind m_kind;
  std::future<std::string> m_hash;
  std::jthread m_thread;  // last: stopped and joined before m_hash goes
};

}  // namespace beamflow::jobs
