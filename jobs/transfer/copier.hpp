#pragma once
// The copier: one file at a time, by the rank that owns it.
//
// Copy. The source is read once (with O_DIRECT when it has several pieces
// and is not in the page cache: read_directly in copier.cpp, with the next
// pieces read ahead on another thread, read_ahead.hpp); each piece
// updates the whole-file checksum (the request's algorithm) and the chunk's
// xxh128, then is written to a
// temporary name beside the final one (".NAME.bf-TAG.part", TAG from the
// request's fingerprint), preallocated first so a full destination fails
// before any data moves. For a multi-chunk file, after each batch of chunks
// (512 MiB or 64 chunks): fdatasync, then the chunks' digests are appended to
// the manifest (durable). When the
// temporary file already holds chunks the manifest vouches for (a resumed
// transfer), they are re-read and re-hashed instead of copied: a chunk that
// no longer matches its record (a flipped byte) is copied again and counted
// as repaired. With verify_checksum the written file is then read
// back through a fresh pass over its descriptor, each chunk's xxh128
// compared with the source's (a mismatching chunk is rewritten, at most
// twice, then transfer.verify.mismatch). The read-back goes through the page
// cache: it catches what the copy path got wrong (a bad buffer, a short or
// misplaced write, a file changed under us), not media errors, which the
// storage's own checksums are for; reading back from the disk instead costs
// a second full read. Mode and (with preserve_timestamp) times are set when
// no write follows any more (mpifileutils #560: a write after them would
// change the mtime). Then the file is fsync'ed (data, mode and times), dropped
// from the page cache and renamed onto the final name: a multi-chunk file at
// once; one-chunk files in batches (64 files or 64 MiB: writeback is started
// as each is written, then one syncfs per file system instead of an fsync
// each, then the renames), which spares a cache flush per small file. Folders
// holding renames are made durable in flush() (one syncfs per file system),
// which then records the files as complete. Any error
// removes the temporary file: nothing partial is ever left, under any name,
// except after a kill, when the temporary file and its journal are exactly
// what the next attempt resumes from.
//
// Compare. Equal sizes and equal whole-file checksums skip the file
// ("unchanged"); anything else copies it. A file this transfer recorded as
// complete, whose source is unchanged (size, mtime, inode), is compared with
// its recorded checksum, so only the destination is read.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.hpp"
#include "jobs/transfer/beneath.hpp"
#include "platform/digest.hpp"
#include "jobs/transfer/manifest.hpp"
#include "jobs/transfer/plan.hpp"

namespace beamflow::transfer {

class PieceWriter;

struct CopyOptions {
  platform::digest::Algorithm algorithm = platform::digest::Algorithm::Xxh128;
  bool verify = true;
  bool preserve_timestamp = false;
  std::uint64_t chunk_size = std::uint64_t{64} << 20;
  std::string temp_tag;  // distinguishes this request's temporary files
  // For tests (kills and orderings): called with "batch synced" once a batch
  // of one-chunk files is durable (before any of it is renamed), and with
  // "renamed" and the destination after each rename into place.
  std::function<void(std::string_view point, const std::string& path)> at;
};

struct FileOutcome {
  std::string source;
  std::string destination;
  std::uint64_t size = 0;
  std::string checksum;  // whole file, self-describing; empty when skipped unread
  std::string action;    // "copied", "unchanged" (compared equal), "skipped"
  std::string reason;
  std::uint64_t bytes_copied = 0;
  std::uint64_t chunks_copied = 0;
  std::uint64_t chunks_resumed = 0;   // verified in the temporary file, not copied again
  std::uint64_t chunks_repaired = 0;  // found corrupt (resume or verify) and copied again
  bool read_direct = false;           // the source was read with O_DIRECT (copier.cpp: read_directly)

  Json to_json() const;
  static FileOutcome from_json(const Json& j);
};

class Copier {
 public:
  Copier(const Root& source, const Root& destination, Manifest& manifest, CopyOptions options);
  ~Copier();
  Copier(const Copier&) = delete;
  Copier& operator=(const Copier&) = delete;

  FileOutcome process(const PlannedFile& file);
  // Asks the kernel to start reading a small file's source (one piece at
  // most) into the page cache, for process() to find it there later; a
  // file that cannot be opened now is left to process() to report.
  void prefetch(const PlannedFile& file) const noexcept;
  // Makes the batch of copied one-chunk files durable and renames them into
  // place, makes the folders of files renamed since the last flush durable, then
  // records those files as complete in the manifest.
  void flush();

  std::string temp_name(const std::string& name) const;

 private:
  FileOutcome copy(const PlannedFile& file, FileOutcome out);
  FileOutcome compare(const PlannedFile& file);
  std::string hash_fd(int fd, const Root& root, const std::string& rel, std::uint64_t size, platform::digest::Algorithm a);

  const Root& m_src;
  const Root& m_dst;
  Manifest& m_manifest;
  CopyOptions m_options;
  // Copied, verified one-chunk files waiting for their batch's fsync and
  // rename; their temporary files are removed if the copier dies first.
  struct Pending {
    std::string parent, temp, name, destination;
    SourceIdentity identity;
    std::string checksum;
    Fd fd;
  };
  void commit_batch();
  void reached(std::string_view point, const std::string& path = {}) const;

  std::vector<char> m_buffer;
  std::vector<char> m_verify_buffer;  // the ChunkVerifier's thread's
  std::unique_ptr<PieceWriter> m_writer;  // started by the first file of several pieces
  std::vector<Pending> m_batch;
  std::uint64_t m_batch_bytes = 0;
  // Destination folders of batched files and of renames not yet fsync'ed.
  std::map<std::string, Fd> m_dirs;
  std::vector<std::pair<std::string, std::pair<SourceIdentity, std::string>>> m_done;
};

}  // namespace beamflow::transfer
