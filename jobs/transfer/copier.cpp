#include "jobs/transfer/copier.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <future>
#include <optional>

#include "jobs/transfer/errors.hpp"
#include "jobs/transfer/read_ahead.hpp"
#include "jobs/transfer/verifier.hpp"
#include "jobs/transfer/writer.hpp"

namespace beamflow::transfer {

using platform::digest::Algorithm;
using platform::digest::Hasher;

namespace {

// The copy moves 256 KiB at a time: a buffer that stays in the core's L2
// cache (read into it, hash it, write it out without going through memory),
// and requests that keep the kernel's readahead ahead of us. On the bench VM
// 8 MiB pieces cost 4-5x the CPU time for the same 2 GiB (10.3 s against
// 1.6-2.5 s, cp itself 2.4 s): the copy is CPU-bound when others share the
// cores.
constexpr std::size_t kPiece = std::size_t{256} << 10;
// A source read O_DIRECT is read kReadGroup pieces (1 MiB) at a time, one
// preadv into as many of the writer's buffers (read_ahead.hpp: 256 KiB
// requests one at a time read the AMD EPYC VM's disk at 0.5-1.2 GB/s, 2 MiB
// ones at 1.3-1.6 GB/s).
constexpr std::size_t kReadGroup = 4;
// Pieces kept asked of the read-ahead thread while one is hashed: two
// reads, so that it finds the next one queued when one returns (the disk is
// not left idle while the reading thread wakes up to ask).
constexpr std::size_t kReadsAhead = 2 * kReadGroup;
// Pieces in flight between the reading thread and the writer thread: those
// asked, the one being hashed, and three for the writer.
constexpr std::size_t kWriteBuffers = kReadsAhead + 4;
static_assert(kReadsAhead + 1 < kWriteBuffers, "the writer needs a buffer of its own");
// Chunks are made durable and recorded in batches: one fdatasync per 512 MiB
// (or 64 chunks) instead of one per chunk, which on the bench VM cost 3.5x
// the copy time (a sync every 64 MiB stalls the reads behind the writes).
// Resume stays at chunk granularity. A batch's fdatasync runs on another
// thread while the next batch is copied, and its chunks are recorded when
// it returns: on the reading thread it stalled the copy for the whole
// writeback (0.21-0.25 s per 512 MiB on the bench VM, four times for 2
// GiB). A kill loses at most two batches.
constexpr std::uint64_t kSyncBytes = std::uint64_t{512} << 20;
constexpr std::size_t kSyncChunks = 64;
// One-chunk files are made durable in batches (Copier::commit_batch): up to
// 64 files or 64 MiB written, each handed to writeback as it is written,
// then one syncfs per file system the batch is on (all their data, inodes
// and the journal, with one cache flush), then the renames. An fsync costs
// a journal commit and a cache flush per file, even after the writeback is
// done: on the bench VM 2,000 small files took 13.8 s with an fsync each
// right after writing, 6.9-7.2 s with the fsyncs deferred to the batch's end,
// 2.0 s with them spread over 8 threads, 1.3 s with a syncfs per batch, and
// 0.8-1.4 s with no sync at all. The price: a syncfs also writes out
// whatever else is dirty on that file system.
constexpr std::size_t kBatchFiles = 64;
constexpr std::uint64_t kBatchBytes = std::uint64_t{64} << 20;

// Makes everything written on the file systems of `fds` durable: one syncfs
// per file system (it reports write-back errors since the descriptor was
// opened, Linux >= 5.8), where an fsync per descriptor would flush the
// storage's cache once each.
void sync_file_systems(const std::vector<std::pair<int, std::string>>& fds, const Root& root) {
  std::vector<dev_t> done;
  for (const auto& [fd, rel] : fds) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) throw root.error(errno, "cannot stat", rel);
    if (std::find(done.begin(), done.end(), st.st_dev) != done.end()) continue;
    if (::syncfs(fd) != 0) throw root.error(errno, "cannot sync", rel);
    done.push_back(st.st_dev);
  }
}

timespec to_timespec(std::int64_t ns) {
  return timespec{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
}

// Up to `len` bytes at `off`; fewer only at the end of the file.
std::size_t pread_full(int fd, char* buf, std::size_t len, off_t off, const Root& root, const std::string& rel) {
  std::size_t done = 0;
  while (done < len) {
    const ssize_t n = ::pread(fd, buf + done, len - done, off + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw root.error(errno, "cannot read", rel);
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

void pwrite_full(int fd, const char* buf, std::size_t len, off_t off, const Root& root, const std::string& rel) {
  std::size_t done = 0;
  while (done < len) {
    const ssize_t n = ::pwrite(fd, buf + done, len - done, off + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw root.error(errno, "cannot write", rel);
    done += static_cast<std::size_t>(n);
  }
}

// Reads for a file read with O_DIRECT: whole blocks of the file system,
// from and into aligned places; only the file's last block comes back short.
std::size_t preadv_direct(int fd, const iovec* pieces, int count, off_t off, const Root& root, const std::string& rel) {
  for (;;) {
    const ssize_t n = ::preadv(fd, pieces, count, off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw root.error(errno, "cannot read", rel);
    return static_cast<std::size_t>(n);
  }
}

// Whether any of the first `n` bytes of `fd` are in the page cache (mincore
// of a mapping that is never touched: no read, no I/O).
bool in_page_cache(int fd, std::size_t n) {
  void* map = ::mmap(nullptr, n, PROT_READ, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) return true;  // cannot tell: as if cached, read through the cache
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> resident((n + page - 1) / page);
  const bool cached = ::mincore(map, n, resident.data()) != 0 ||
                      std::any_of(resident.begin(), resident.end(), [](unsigned char r) { return r & 1; });
  ::munmap(map, n);
  return cached;
}

// Switches the source `fd` of a file of several pieces to O_DIRECT reads,
// when its file system does direct I/O with alignments the pieces meet
// (statx STATX_DIOALIGN, Linux 6.1) and the file is not in the page cache
// already (then the cache is faster than the disk); returns the alignment
// its reads need, or 0 when it stays buffered. Why: on the bench VM a cold
// buffered read of 2 GiB cost 2.2-3.6 s of system time (page cache pages
// allocated, filled, copied out: 80% of a transfer's CPU samples, in
// _copy_to_iter) and 7.4-7.8 s of wall time at load 10, against 0.2 s and
// 2.0-2.3 s read O_DIRECT into our buffers: the same bytes from the disk,
// once either way.
std::size_t read_directly(int fd, std::uint64_t size, std::uint64_t chunk_size) {
  if (size <= kPiece) return 0;
  struct statx sx {};
  if (::statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) != 0 || !(sx.stx_mask & STATX_DIOALIGN)) return 0;
  const std::size_t align = std::max<std::size_t>(sx.stx_dio_mem_align, sx.stx_dio_offset_align);
  if (sx.stx_dio_mem_align == 0 || sx.stx_dio_offset_align == 0 || align > PieceWriter::kAlign || kPiece % align != 0 ||
      chunk_size % align != 0 || in_page_cache(fd, kPiece))
    return 0;
  const int flags = ::fcntl(fd, F_GETFL);
  return flags >= 0 && ::fcntl(fd, F_SETFL, flags | O_DIRECT) == 0 ? align : 0;
}

Error source_changed(const Root& root, const std::string& rel) {
  return Error("transfer.source.changed", asl::Source,
               "the source file changed while it was being copied; retry once it is complete",
               {{"endpoint", root.name()}, {"path", rel}}, true);
}

void check_source(int fd, const PlannedFile& f, const Root& root) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw root.error(errno, "cannot stat", f.source);
  if (!S_ISREG(st.st_mode) || identity_of(st) != f.identity)
    throw source_changed(root, f.source);
}

}  // namespace

Json FileOutcome::to_json() const {
  Json j{{"source", source}, {"destination", destination}, {"size", size}, {"action", action}};
  if (!checksum.empty()) j["checksum"] = checksum;
  if (!reason.empty()) j["reason"] = reason;
  if (bytes_copied) j["bytes_copied"] = bytes_copied;
  if (chunks_copied) j["chunks_copied"] = chunks_copied;
  if (chunks_resumed) j["chunks_resumed"] = chunks_resumed;
  if (chunks_repaired) j["chunks_repaired"] = chunks_repaired;
  if (read_direct) j["read_direct"] = true;
  return j;
}

FileOutcome FileOutcome::from_json(const Json& j) {
  FileOutcome o;
  o.source = j.at("source").get<std::string>();
  o.destination = j.at("destination").get<std::string>();
  o.size = j.at("size").get<std::uint64_t>();
  o.action = j.at("action").get<std::string>();
  o.checksum = j.value("checksum", std::string());
  o.reason = j.value("reason", std::string());
  o.bytes_copied = j.value("bytes_copied", std::uint64_t{0});
  o.chunks_copied = j.value("chunks_copied", std::uint64_t{0});
  o.chunks_resumed = j.value("chunks_resumed", std::uint64_t{0});
  o.chunks_repaired = j.value("chunks_repaired", std::uint64_t{0});
  o.read_direct = j.value("read_direct", false);
  return o;
}

Copier::Copier(const Root& source, const Root& destination, Manifest& manifest, CopyOptions options)
    : m_src(source), m_dst(destination), m_manifest(manifest), m_options(std::move(options)), m_buffer(kPiece),
      m_verify_buffer(kPiece) {}

Copier::~Copier() {
  // A failure before commit_batch: no temporary file of the batch is left.
  for (const auto& p : m_batch)
    if (const auto dir = m_dirs.find(p.parent); dir != m_dirs.end()) ::unlinkat(dir->second.get(), p.temp.c_str(), 0);
}

std::string Copier::temp_name(const std::string& name) const {
  return "." + name.substr(0, 200) + ".bf-" + m_options.temp_tag + ".part";
}

FileOutcome Copier::process(const PlannedFile& file) {
  FileOutcome out;
  out.source = file.source;
  out.destination = file.destination;
  out.size = file.identity.size;
  out.reason = file.reason;
  if (file.decision == Decision::Skip) {
    out.action = "skipped";
    return out;
  }
  if (file.decision == Decision::Compare) return compare(file);
  return copy(file, std::move(out));
}

void Copier::prefetch(const PlannedFile& file) const noexcept {
  if (file.decision == Decision::Skip || file.identity.size == 0 || file.identity.size > kPiece) return;
  const int fd = m_src.open_at(file.source, O_RDONLY | O_NONBLOCK);
  if (fd < 0) return;
  ::posix_fadvise(fd, 0, static_cast<off_t>(file.identity.size), POSIX_FADV_WILLNEED);
  ::close(fd);
}

std::string Copier::hash_fd(int fd, const Root& root, const std::string& rel, std::uint64_t size, Algorithm a) {
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  Hasher h(a);
  for (std::uint64_t off = 0;;) {
    const std::size_t n = pread_full(fd, m_buffer.data(), m_buffer.size(), static_cast<off_t>(off), root, rel);
    if (n == 0) break;
    h.update(m_buffer.data(), n);
    off += n;
  }
  return h.finish();
}

FileOutcome Copier::compare(const PlannedFile& f) {
  FileOutcome out;
  out.source = f.source;
  out.destination = f.destination;
  out.size = f.identity.size;
  const Fd src = m_src.open(f.source, O_RDONLY);
  check_source(src.get(), f, m_src);
  const int dfd = m_dst.open_at(f.destination, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  if (dfd == -ELOOP || dfd == -ENOENT) {
    out.reason = dfd == -ELOOP ? "destination is a symlink: replaced" : "missing at the destination";
    return copy(f, std::move(out));
  }
  if (dfd < 0) throw m_dst.error(-dfd, "cannot open", f.destination);
  const Fd dst(dfd);
  struct stat st {};
  if (::fstat(dst.get(), &st) != 0) throw m_dst.error(errno, "cannot stat", f.destination);
  if (S_ISDIR(st.st_mode)) throw m_dst.error(EISDIR, "a folder stands where the file would go", f.destination);
  if (!S_ISREG(st.st_mode) || static_cast<std::uint64_t>(st.st_size) != f.identity.size) {
    out.reason = f.reason + "; size differs: copied";
    return copy(f, std::move(out));
  }
  const auto known = m_manifest.file(f.destination, f.identity);
  const std::string prefix = std::string(to_string(m_options.algorithm)) + ":";
  const std::string source_sum = known && known->rfind(prefix, 0) == 0
                                     ? *known
                                     : hash_fd(src.get(), m_src, f.source, f.identity.size, m_options.algorithm);
  const std::string dest_sum = hash_fd(dst.get(), m_dst, f.destination, f.identity.size, m_options.algorithm);
  if (source_sum == dest_sum) {
    out.action = "unchanged";
    out.checksum = source_sum;
    out.reason = f.reason + "; checksums equal";
    return out;
  }
  out.reason = f.reason + "; checksum differs: copied again";
  return copy(f, std::move(out));
}

FileOutcome Copier::copy(const PlannedFile& f, FileOutcome out) {
  const Fd src = m_src.open(f.source, O_RDONLY);
  check_source(src.get(), f, m_src);
  // A file of one piece is read by one pread: no readahead pattern to tell.
  if (f.identity.size > kPiece) ::posix_fadvise(src.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  const auto [parent, name] = split_parent(f.destination);
  // A destination folder is opened (a path walk beneath the root) once per
  // flush, not once per file; it is kept for the renames and their sync.
  auto folder = m_dirs.find(parent);
  if (folder == m_dirs.end()) folder = m_dirs.emplace(parent, m_dst.open(parent, O_RDONLY | O_DIRECTORY)).first;
  const int dir = folder->second.get();
  const std::string tmp = temp_name(name), tmp_rel = join(parent, tmp);
  const std::uint64_t size = f.identity.size, cs = m_options.chunk_size;

  bool resuming = false;
  int tfd = ::openat(dir, tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  const bool created = tfd >= 0;
  if (tfd < 0 && errno == EEXIST) {
    resuming = m_manifest.has_chunks(f.destination, f.identity, cs);
    tfd = ::openat(dir, tmp.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC | (resuming ? 0 : O_TRUNC));
  }
  if (tfd < 0) throw m_dst.error(errno, "cannot create the temporary file", tmp_rel);
  Fd temp(tfd);
  // Whatever fails from here removes the temporary file.
  struct Cleanup {
    int dir;
    std::string name;
    bool armed = true;
    ~Cleanup() {
      if (armed) ::unlinkat(dir, name.c_str(), 0);
    }
  } cleanup{dir, tmp};

  if (size > 0) {
    const int rc = ::posix_fallocate(temp.get(), 0, static_cast<off_t>(size));
    if (rc != 0 && rc != EOPNOTSUPP && rc != EINVAL) throw m_dst.error(rc, "cannot allocate space", f.destination);
  }
  // Only a temporary file found from an earlier attempt can be longer.
  struct stat tst {};
  if (!created && ::fstat(temp.get(), &tst) == 0 && static_cast<std::uint64_t>(tst.st_size) > size &&
      ::ftruncate(temp.get(), static_cast<off_t>(size)) != 0)
    throw m_dst.error(errno, "cannot truncate", tmp_rel);

  // Copies [off, off+len) from the source, feeding `whole` when given;
  // returns the range's xxh128. A range of several pieces, or any range of
  // a source read O_DIRECT (into the writer's aligned buffers, whole blocks
  // at a time, by the read-ahead thread), is written by the writer thread
  // while this one hashes the next piece.
  const std::size_t direct = read_directly(src.get(), size, m_options.chunk_size);
  if (direct) out.read_direct = true;
  const PieceWriter::Write write = [&](const char* data, std::size_t n, off_t at) {
    pwrite_full(temp.get(), data, n, at, m_dst, tmp_rel);
  };
  auto copy_range = [&](std::uint64_t off, std::uint64_t len, Hasher* whole) {
    Hasher chunk(Algorithm::Xxh128);
    if (len > m_buffer.size() || direct) {
      if (!m_writer) m_writer = std::make_unique<PieceWriter>(m_buffer.size(), kWriteBuffers);
      // Nothing of this file is written after copy_range returns or throws.
      struct Drain {
        PieceWriter& writer;
        bool armed = true;
        ~Drain() {
          if (armed) try {
              writer.wait();
            } catch (...) {
            }
        }
      } drain{*m_writer};
      auto piece_size = [&](std::uint64_t p) {
        return static_cast<std::size_t>(std::min<std::uint64_t>(m_buffer.size(), len - p));
      };
      // O_DIRECT reads have no kernel readahead behind them: the next
      // pieces are read on another thread while this one hashes (whole
      // blocks; the file's last one comes back short). Declared after
      // `drain`: the reads in flight end, and give their buffers back,
      // before the writer is waited for.
      const ReadAhead::Read read = [&](const iovec* pieces, int count, off_t at) {
        return preadv_direct(src.get(), pieces, count, at, m_src, f.source);
      };
      std::optional<ReadAhead> ahead;
      if (direct) ahead.emplace([&writer = *m_writer](char* buffer) { writer.give_back(buffer); });
      std::uint64_t asked = 0;  // bytes of the range asked of `ahead`
      for (std::uint64_t p = 0; p < len;) {
        const std::size_t n = piece_size(p);
        const off_t at = static_cast<off_t>(off + p);
        char* piece = nullptr;
        std::size_t got = 0;
        if (ahead) {
          while (asked < len && ahead->asked() + kReadGroup <= 1 + kReadsAhead) {
            std::vector<iovec> pieces;
            const off_t from = static_cast<off_t>(off + asked);
            for (; asked < len && pieces.size() < kReadGroup; asked += piece_size(asked))
              pieces.push_back({m_writer->buffer(), (piece_size(asked) + direct - 1) / direct * direct});
            ahead->ask(std::move(pieces), from, read);
          }
          const ReadAhead::Piece taken = ahead->take();
          piece = taken.buffer;
          got = taken.got;
        } else {
          piece = m_writer->buffer();
          got = pread_full(src.get(), piece, n, at, m_src, f.source);
        }
        if (got < n) {
          m_writer->give_back(piece);
          throw source_changed(m_src, f.source);
        }
        if (whole) whole->update(piece, n);
        chunk.update(piece, n);
        m_writer->submit(piece, n, at, write);
        p += n;
      }
      drain.armed = false;
      m_writer->wait();
      return chunk.finish();
    }
    for (std::uint64_t p = 0; p < len;) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(m_buffer.size(), len - p));
      const off_t at = static_cast<off_t>(off + p);
      if (pread_full(src.get(), m_buffer.data(), n, at, m_src, f.source) != n) throw source_changed(m_src, f.source);
      if (whole) whole->update(m_buffer.data(), n);
      chunk.update(m_buffer.data(), n);
      pwrite_full(temp.get(), m_buffer.data(), n, at, m_dst, tmp_rel);
      p += n;
    }
    return chunk.finish();
  };
  // The xxh128 of [off, off+len) of the temporary file, read through
  // `buffer` (a piece), feeding `whole`.
  auto hash_range = [&](std::vector<char>& buffer, std::uint64_t off, std::uint64_t len, Hasher* whole) {
    Hasher chunk(Algorithm::Xxh128);
    for (std::uint64_t p = 0; p < len;) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), len - p));
      const std::size_t got = pread_full(temp.get(), buffer.data(), n, static_cast<off_t>(off + p), m_dst, tmp_rel);
      if (got == 0) break;
      if (whole) whole->update(buffer.data(), got);
      chunk.update(buffer.data(), got);
      p += got;
    }
    return chunk.finish();
  };
  auto sync = [&] {
    if (::fdatasync(temp.get()) != 0) throw m_dst.error(errno, "cannot sync", tmp_rel);
  };

  const std::uint64_t chunks = size == 0 ? 1 : (size + cs - 1) / cs;
  if (chunks > 1) commit_batch();  // a long copy does not hold back the small files before it
  std::vector<std::string> digests(chunks);
  // Copied chunks not yet synced, and the batch being synced (`syncing`
  // returns fdatasync's errno) whose chunks are recorded once it is durable.
  // Declared after `temp`: an error waits for the sync before closing it.
  std::vector<std::pair<std::uint64_t, std::string>> pending, synced;
  std::uint64_t pending_bytes = 0;
  std::future<int> syncing;
  auto record_synced = [&] {
    if (!syncing.valid()) return;
    if (const int err = syncing.get(); err != 0) throw m_dst.error(err, "cannot sync", tmp_rel);
    m_manifest.add_chunks(f.destination, f.identity, cs, synced);
    synced.clear();
  };
  auto start_sync = [&] {
    if (pending.empty()) return;
    record_synced();
    synced = std::move(pending);
    pending.clear();
    pending_bytes = 0;
    syncing = std::async(std::launch::async, [fd = temp.get()] { return ::fdatasync(fd) == 0 ? 0 : errno; });
  };
  // With verify, a multi-chunk file's chunk k is read back while chunk k+1
  // is copied (verifier.hpp).
  std::optional<ChunkVerifier> verifier;
  if (m_options.verify && chunks > 1)
    verifier.emplace([&](std::uint64_t i) { return hash_range(m_verify_buffer, i * cs, std::min(cs, size - i * cs), nullptr); });
  Hasher whole(m_options.algorithm);
  for (std::uint64_t i = 0; i < chunks; ++i) {
    const std::uint64_t off = i * cs, len = std::min(cs, size - off);
    if (resuming) {
      if (const auto recorded = m_manifest.chunk(f.destination, f.identity, cs, i)) {
        Hasher tentative = whole.clone();
        if (hash_range(m_buffer, off, len, &tentative) == *recorded) {
          whole = std::move(tentative);
          digests[i] = *recorded;
          ++out.chunks_resumed;
          continue;  // just read back from the destination: verified already
        }
        ++out.chunks_repaired;  // recorded, but the bytes no longer match: copy it again
      }
    }
    digests[i] = copy_range(off, len, &whole);
    if (verifier) verifier->check(i, digests[i]);
    out.bytes_copied += len;
    ++out.chunks_copied;
    if (chunks > 1) {
      pending.emplace_back(i, digests[i]);
      pending_bytes += len;
      if (pending_bytes >= kSyncBytes || pending.size() >= kSyncChunks) start_sync();
    }
  }
  start_sync();  // the read-back below runs while the last batch is written out
  check_source(src.get(), f, m_src);
  out.checksum = whole.finish();

  if (m_options.verify) {
    auto check_all = [&] {
      std::vector<std::uint64_t> bad;
      for (std::uint64_t i = 0; i < chunks; ++i)
        if (hash_range(m_buffer, i * cs, std::min(cs, size - i * cs), nullptr) != digests[i]) bad.push_back(i);
      return bad;
    };
    std::vector<std::uint64_t> bad = verifier ? verifier->finish() : check_all();
    for (int round = 0; !bad.empty(); ++round) {
      if (round == 2)
        throw Error("transfer.verify.mismatch", asl::Integrity,
                    "the destination still differs from the source after copying its bad chunks twice",
                    {{"endpoint", m_dst.name()}, {"path", f.destination}, {"chunks", std::to_string(bad.size())}},
                    true);
      for (const std::uint64_t i : bad) {
        if (copy_range(i * cs, std::min(cs, size - i * cs), nullptr) != digests[i])
          throw source_changed(m_src, f.source);
        ++out.chunks_repaired;
        out.bytes_copied += std::min(cs, size - i * cs);
      }
      // A multi-chunk file's recorded chunks stay durable; a one-chunk
      // file's data is synced with its batch.
      if (chunks > 1) sync();
      bad = check_all();
    }
  }
  record_synced();
  // Mode and times are set once no write follows (mpifileutils #560), and
  // made durable with the data by the fsync before the rename.
  if (::fchmod(temp.get(), f.mode & 0777) != 0) throw m_dst.error(errno, "cannot set the mode", tmp_rel);
  if (m_options.preserve_timestamp) {
    const timespec times[2] = {to_timespec(f.atime_ns), to_timespec(f.identity.mtime_ns)};
    if (::futimens(temp.get(), times) != 0) throw m_dst.error(errno, "cannot set the times", tmp_rel);
  }
  ::posix_fadvise(src.get(), 0, 0, POSIX_FADV_DONTNEED);
  out.action = "copied";
  if (chunks == 1) {
    // Durable and renamed with its batch; writeback starts now.
    ::sync_file_range(temp.get(), 0, 0, SYNC_FILE_RANGE_WRITE);
    m_batch.push_back({parent, tmp, name, f.destination, f.identity, out.checksum, std::move(temp)});
    cleanup.armed = false;  // the batch owns the temporary file now
    m_batch_bytes += size;
    if (m_batch.size() >= kBatchFiles || m_batch_bytes >= kBatchBytes) commit_batch();
    return out;
  }
  if (::fsync(temp.get()) != 0) throw m_dst.error(errno, "cannot sync", tmp_rel);
  // The written file is clean (synced): drop it from the page cache, as
  // the source, so a big transfer does not push everything else out.
  ::posix_fadvise(temp.get(), 0, 0, POSIX_FADV_DONTNEED);
  if (::renameat(dir, tmp.c_str(), dir, name.c_str()) != 0)
    throw m_dst.error(errno, "cannot rename the verified file into place", f.destination);
  cleanup.armed = false;
  reached("renamed", f.destination);
  m_done.push_back({f.destination, {f.identity, out.checksum}});
  return out;
}

void Copier::reached(std::string_view point, const std::string& path) const {
  if (m_options.at) m_options.at(point, path);
}

void Copier::commit_batch() {
  if (m_batch.empty()) return;
  std::vector<std::pair<int, std::string>> files;
  for (const auto& p : m_batch) files.emplace_back(p.fd.get(), join(p.parent, p.temp));
  sync_file_systems(files, m_dst);
  reached("batch synced");
  while (!m_batch.empty()) {
    const Pending& p = m_batch.back();
    ::posix_fadvise(p.fd.get(), 0, 0, POSIX_FADV_DONTNEED);
    const int d = m_dirs.at(p.parent).get();
    if (::renameat(d, p.temp.c_str(), d, p.name.c_str()) != 0)
      throw m_dst.error(errno, "cannot rename the verified file into place", p.destination);
    reached("renamed", p.destination);
    m_done.push_back({p.destination, {p.identity, p.checksum}});
    m_batch.pop_back();
  }
  m_batch_bytes = 0;
}

void Copier::flush() {
  commit_batch();
  // The folders holding the renames, durable with one syncfs per file system.
  std::vector<std::pair<int, std::string>> dirs;
  for (const auto& [rel, fd] : m_dirs) dirs.emplace_back(fd.get(), rel);
  sync_file_systems(dirs, m_dst);
  m_dirs.clear();
  m_manifest.add_files(m_done);
  m_done.clear();
}

}  // namespace beamflow::transfer
