#pragma once
// The run journal: an append-only file of typed, length-prefixed, CRC-checked
// records. One writer per file (the run lock guarantees it). A batch of
// appended records becomes durable with one fdatasync in commit(); the engine
// acts on a transition only after commit() returned.
//
// File layout (little endian):
//   header  : "BFJOURNL" (8 bytes) | u32 version (=1) | u32 flags (=0)
//   record  : u32 sync (0x52464ABu "BFJR" marker) | u32 length | u32 crc32c |
//             u16 type | u16 reserved | payload[length]
//   crc32c covers length, type, reserved and payload.
// Reading: a torn tail (short record, or bad CRC with nothing valid after it)
// ends the journal and is truncated away before new appends; a bad record in
// the middle is skipped by scanning forward to the next sync marker and
// reported, never fatal.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace beamflow::journal {

struct Record {
  std::uint16_t type = 0;
  std::vector<std::uint8_t> payload;
  std::uint64_t offset = 0;  // byte offset in the file (set by the reader)
};

struct ReadReport {
  std::vector<Record> records;
  std::uint64_t valid_end = 0;       // end offset of the last good record
  std::uint64_t file_size = 0;
  std::size_t skipped_records = 0;   // corrupt records skipped in the middle
  bool torn_tail = false;            // bytes after valid_end were ignored
};

// Reads every good record. Throws beamflow::Error "journal.open" when the
// file cannot be opened, "journal.header" when its header is not a beamflow
// journal (or a version this build cannot read).
ReadReport read_journal(const std::filesystem::path& file);

enum class Durability { Fsync, None };

class Writer {
 public:
  // Creates a new journal (fails with "journal.exists" if present) or opens an
  // existing one for append, first truncating anything after the last good
  // record. Throws beamflow::Error ids "journal.open" / "journal.io".
  static Writer create(const std::filesystem::path& file, Durability durability);
  static Writer open_append(const std::filesystem::path& file, Durability durability);

  Writer(Writer&&) noexcept;
  Writer& operator=(Writer&&) noexcept;
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;
  ~Writer();

  // Buffers a record; nothing reaches the file before commit().
  void append(std::uint16_t type, const std::vector<std::uint8_t>& payload);
  // Writes the buffered records and (with Durability::Fsync) fdatasyncs.
  // Throws "journal.io" on failure; the buffer is then left untouched.
  void commit();

  std::uint64_t bytes_written() const noexcept { return m_bytes_written; }
  std::uint64_t records_written() const noexcept { return m_records_written; }
  std::size_t commits() const noexcept { return m_commits; }

 private:
  Writer() = default;
  int m_fd = -1;
  Durability m_durability = Durability::Fsync;
  std::vector<std::uint8_t> m_buffer;
  std::size_t m_buffered_records = 0;
  std::uint64_t m_bytes_written = 0;
  std::uint64_t m_records_written = 0;
  std::size_t m_commits = 0;
};

// CRC-32C (Castagnoli), exposed for tests.
std::uint32_t crc32c(const std::uint8_t* data, std::size_t size, std::uint32_t seed = 0) noexcept;

}  // namespace beamflow::journal
