// The single journal writer: buffered appends, one write + fdatasync per
// commit, crash-safe creation and compaction.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "core/error.hpp"
#include "journal/format.hpp"
#include "journal/journal.hpp"
#include "platform/posix_file.hpp"
#include "platform/sync_group.hpp"

namespace beamflow::journal {
namespace {

using fs::detail::throw_system_error;

void check_payload_size(std::size_t size, const std::filesystem::path& file) {
  if (size <= format::max_payload) return;
  throw Error("journal.record_too_large", states_error::Runtime,
              "record payload of " + std::to_string(size) + " bytes exceeds the " +
                  std::to_string(format::max_payload) + "-byte journal limit",
              {{"file", file.string()}});
}

// Marks the records in `buffer` as one commit (first .. last) and computes
// their CRCs. Done at commit time so each record is checksummed once.
void seal_commit(std::vector<std::uint8_t>& buffer) {
  std::size_t pos = 0;
  while (pos < buffer.size()) {
    std::uint8_t* rec = buffer.data() + pos;
    const std::size_t next = pos + format::record_header_size + format::load_u32(rec + 4);
    std::uint16_t flags = 0;
    if (pos == 0) flags |= format::flag_first;
    if (next == buffer.size()) flags |= format::flag_last;
    format::seal_record(rec, flags);
    pos = next;
  }
}

}  // namespace

namespace {

[[noreturn]] void throw_exists(const std::filesystem::path& file) {
  throw Error("journal.exists", states_error::Runtime, "journal already exists", {{"file", file.string()}});
}

}  // namespace

Writer Writer::create(const std::filesystem::path& file, Durability durability,
                      const WriterOptions& options) {
  const bool durable = durability == Durability::Fsync && !options.defer_create_sync;
  const auto header = format::encode_header();
  fs::detail::UniqueFd fd;
  if (options.defer_create_sync) {
    // In place (O_EXCL refuses an existing journal): a crash may leave a
    // short header, which the caller throws away (WriterOptions). No
    // temporary name to make, link and unlink: a pilot creates thousands a second.
    fd = fs::detail::UniqueFd(::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600));
    if (!fd) {
      if (errno == EEXIST) throw_exists(file);
      throw_system_error("journal.open", "cannot create the journal", file, errno);
    }
    if (const int err = fs::detail::write_all(fd.get(), header.data(), header.size())) {
      ::unlink(file.c_str());
      throw_system_error("journal.io", "cannot write the journal header", file, err);
    }
  } else {
    // The header is written under a temporary name and linked into place, so a
    // crash leaves no journal or one with a whole header, and link() refuses
    // an existing journal atomically.
    fs::detail::TempFile tmp(file, O_APPEND, "journal.open");
    if (const int err = fs::detail::write_all(tmp.fd().get(), header.data(), header.size()))
      throw_system_error("journal.io", "cannot write the journal header", file, err);
    if (durable && ::fsync(tmp.fd().get()) != 0)
      throw_system_error("journal.io", "cannot fsync the new journal", file, errno);
    if (::link(tmp.path().c_str(), file.c_str()) != 0) {
      if (errno == EEXIST) throw_exists(file);
      throw_system_error("journal.open", "cannot create the journal", file, errno);
    }
    tmp.remove_name();
    if (durable) {
      if (const int err = fs::detail::fsync_directory(fs::detail::directory_of(file)))
        throw_system_error("journal.io", "cannot fsync the journal's directory", file, err);
    }
    fd = std::move(tmp.fd());
  }
  Writer w;
  w.m_path = file;
  w.m_fd = fd.release();
  w.m_durability = durability;
  w.m_group = options.group;
  w.m_names_pending = durability == Durability::Fsync && options.defer_create_sync;
  if (w.m_names_pending) w.m_create_sync_parent = options.create_sync_parent;
  w.m_file_size = header.size();
  return w;
}

Writer Writer::open_append(const std::filesystem::path& file, Durability durability,
                           const WriterOptions& options) {
  // O_NONBLOCK: opening a FIFO for writing would otherwise wait for a reader
  // (without one it fails with ENXIO; the stat names the real reason first).
  if (struct stat named {}; ::stat(file.c_str(), &named) == 0 && !S_ISREG(named.st_mode))
    throw_system_error("journal.open", "not a regular file", file, 0);
  fs::detail::UniqueFd fd(::open(file.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC | O_NONBLOCK));
  if (!fd) throw_system_error("journal.open", "cannot open the journal for append", file, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_system_error("journal.io", "cannot stat the journal", file, errno);
  if (!S_ISREG(st.st_mode)) throw_system_error("journal.open", "not a regular file", file, 0);
  if (::fcntl(fd.get(), F_SETFL, O_WRONLY | O_APPEND) != 0)
    throw_system_error("journal.io", "cannot clear O_NONBLOCK on the journal", file, errno);
  const ReadReport report = read_journal(file);
  if (report.damage) {
    throw Error("journal.corrupt", states_error::Runtime,
                "refusing to append to a damaged journal: " + describe(*report.damage),
                {{"file", file.string()}, {"offset", std::to_string(report.damage->offset)}});
  }
  if (report.valid_end < report.file_size) {
    if (::ftruncate(fd.get(), static_cast<off_t>(report.valid_end)) != 0)
      throw_system_error("journal.io", "cannot cut off the journal's torn tail", file, errno);
    // With sync_found the sync below makes the cut durable too.
    if (durability == Durability::Fsync && !options.sync_found && ::fsync(fd.get()) != 0)
      throw_system_error("journal.io", "cannot fsync the journal", file, errno);
  }
  Writer w;
  w.m_path = file;
  w.m_fd = fd.release();
  w.m_durability = durability;
  w.m_group = options.group;
  w.m_file_size = report.valid_end;
  if (durability == Durability::Fsync && options.sync_found) {
    w.m_names_pending = true;
    w.m_create_sync_parent = options.create_sync_parent;
    if (const int err = w.make_durable())
      throw_system_error("journal.io", "cannot make the journal found durable before acting on it", file, err);
  }
  return w;
}

Writer::Writer(Writer&& other) noexcept
    : m_path(std::move(other.m_path)),
      m_fd(std::exchange(other.m_fd, -1)),
      m_file_size(other.m_file_size),
      m_durability(other.m_durability),
      m_group(other.m_group),
      m_names_pending(other.m_names_pending),
      m_create_sync_parent(std::move(other.m_create_sync_parent)),
      m_buffer(std::move(other.m_buffer)),
      m_buffered_records(std::exchange(other.m_buffered_records, 0)),
      m_bytes_written(other.m_bytes_written),
      m_records_written(other.m_records_written),
      m_commits(other.m_commits) {
  other.m_buffer.clear();
}

Writer& Writer::operator=(Writer&& other) noexcept {
  if (this != &other) {
    close();
    m_path = std::move(other.m_path);
    m_fd = std::exchange(other.m_fd, -1);
    m_file_size = other.m_file_size;
    m_group = other.m_group;
    m_names_pending = other.m_names_pending;
    m_create_sync_parent = std::move(other.m_create_sync_parent);
    m_durability = other.m_durability;
    m_buffer = std::move(other.m_buffer);
    other.m_buffer.clear();
    m_buffered_records = std::exchange(other.m_buffered_records, 0);
    m_bytes_written = other.m_bytes_written;
    m_records_written = other.m_records_written;
    m_commits = other.m_commits;
  }
  return *this;
}

Writer::~Writer() { close(); }

void Writer::close() noexcept {
  // Committed data is already durable (or was never meant to be); a close
  // error has nothing left to report.
  if (m_fd >= 0) ::close(std::exchange(m_fd, -1));
}

void Writer::append(std::uint16_t type, const std::vector<std::uint8_t>& payload) {
  check_payload_size(payload.size(), m_path);
  format::append_record(m_buffer, type, payload.data(), payload.size());
  ++m_buffered_records;
}

void Writer::cut_back_after_failure() noexcept {
  // A partial write must not stay: a retried commit would follow it, and its
  // records would sit in the file twice.
  if (::ftruncate(m_fd, static_cast<off_t>(m_file_size)) != 0) close();
}

int Writer::make_durable() noexcept {
  if (m_group) {
    try {
      // syncfs makes every write before it durable, the directory entry of
      // a deferred creation included.
      if (m_group->flush() == fs::SyncGroup::Outcome::Durable) {
        m_names_pending = false;
        return 0;
      }
    } catch (const Error& e) {
      return e.system_errno() != 0 ? e.system_errno() : EIO;
    } catch (...) {
      return EIO;
    }
  }
  if (::fdatasync(m_fd) != 0) return errno;
  if (m_names_pending) {
    if (const int err = fs::detail::fsync_directory(fs::detail::directory_of(m_path))) return err;
    if (!m_create_sync_parent.empty())
      if (const int err = fs::detail::fsync_directory(m_create_sync_parent)) return err;
    m_names_pending = false;
  }
  return 0;
}

void Writer::commit() {
  if (m_buffer.empty()) return;
  if (m_fd < 0) {
    throw Error("journal.closed", states_error::Runtime,
                "journal writer is closed (moved from, or a failed fdatasync or cut-back made it "
                "unusable); reopen the journal",
                {{"file", m_path.string()}});
  }
  seal_commit(m_buffer);
  if (const int err = fs::detail::write_all(m_fd, m_buffer.data(), m_buffer.size())) {
    cut_back_after_failure();
    throw_system_error("journal.io", "cannot append to the journal", m_path, err,
                       /*retryable=*/m_fd >= 0);
  }
  if (m_durability == Durability::Fsync) {
    if (const int err = make_durable()) {
      // After a failed fdatasync (or syncfs) the kernel may have dropped the
      // dirty pages and cleared the error: a retry could "succeed" without
      // the data. Give up on this descriptor; the caller reopens and rereads.
      cut_back_after_failure();
      close();
      throw_system_error("journal.io",
                         m_group ? "cannot make the journal durable (group flush or fdatasync)"
                                 : "cannot fdatasync the journal",
                         m_path, err);
    }
  }
  m_file_size += m_buffer.size();
  m_bytes_written += m_buffer.size();
  m_records_written += m_buffered_records;
  ++m_commits;
  m_buffer.clear();
  m_buffered_records = 0;
}

void rewrite_journal(const std::filesystem::path& file, const std::vector<Record>& records,
                     Durability durability) {
  std::size_t total = format::header_size;
  for (const Record& r : records) {
    check_payload_size(r.payload.size(), file);
    total += format::record_header_size + r.payload.size();
  }
  std::vector<std::uint8_t> bytes;
  bytes.reserve(total);
  const auto header = format::encode_header();
  bytes.assign(header.begin(), header.end());
  // One commit per record: damage is then located to one record.
  for (const Record& r : records) {
    const std::size_t at = format::append_record(bytes, r.type, r.payload.data(), r.payload.size());
    format::seal_record(bytes.data() + at, format::flag_first | format::flag_last);
  }
  fs::detail::replace_file(file, bytes.data(), bytes.size(), durability == Durability::Fsync,
                           "journal.io");
}

}  // namespace beamflow::journal
