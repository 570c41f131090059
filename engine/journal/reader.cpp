// Reading a journal: header check, then one pass over the records that keeps
// every good record up to the last whole commit and treats what follows it as
// the torn tail (rules in journal.hpp).
#include <algorithm>
#include <iterator>
#include <sstream>
#include <string_view>

#include "core/error.hpp"
#include "journal/format.hpp"
#include "journal/journal.hpp"
#include "platform/posix_file.hpp"

namespace beamflow::journal {
namespace {

[[noreturn]] void throw_header_error(const std::string& what, const std::filesystem::path& file) {
  throw Error("journal.header", states_error::Runtime, what, {{"file", file.string()}});
}

void check_header(const std::uint8_t* data, std::size_t size, const std::filesystem::path& file) {
  if (size < format::header_size) {
    throw_header_error("not a beamflow journal: " + std::to_string(size) +
                           " bytes, shorter than the " + std::to_string(format::header_size) +
                           "-byte header",
                       file);
  }
  if (!std::equal(format::magic.begin(), format::magic.end(), data))
    throw_header_error("not a beamflow journal: bad magic", file);
  if (const std::uint32_t version = format::load_u32(data + 8); version != format::version) {
    throw_header_error("journal format version " + std::to_string(version) +
                           " is not supported (this build reads version " +
                           std::to_string(format::version) + ")",
                       file);
  }
  if (const std::uint32_t flags = format::load_u32(data + 12); flags != 0) {
    std::ostringstream hex;
    hex << std::hex << flags;
    throw_header_error("journal header flags 0x" + hex.str() + " are not supported", file);
  }
}

// The offset of the next decodable record at or after `from`, or `size`.
std::size_t next_good_record(const std::uint8_t* data, std::size_t size, std::size_t from) {
  std::uint8_t marker[4];
  format::store_u32(marker, format::sync_marker);
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const std::string_view needle(reinterpret_cast<const char*>(marker), sizeof marker);
  for (std::size_t pos = bytes.find(needle, from); pos != std::string_view::npos;
       pos = bytes.find(needle, pos + 1)) {
    if (format::decode_record(data + pos, size - pos)) return pos;
  }
  return size;
}

// Records read since the last whole commit: accepted when a whole commit
// follows them, dropped as the torn tail otherwise.
struct Pending {
  std::vector<Record> records;
  std::size_t gaps = 0;

  void accept_into(ReadReport& report) {
    std::move(records.begin(), records.end(), std::back_inserter(report.records));
    records.clear();
    report.skipped_records += gaps;
    gaps = 0;
  }
};

}  // namespace

ReadReport parse_journal(const std::uint8_t* data, std::size_t size,
                         const std::filesystem::path& file) {
  check_header(data, size, file);
  ReadReport report;
  report.file_size = size;
  report.valid_end = format::header_size;
  Pending pending;
  bool commit_whole = false;  // the commit being read began with `first` and has no gap yet
  std::size_t pos = format::header_size;
  while (pos < size) {
    const auto header = format::decode_record(data + pos, size - pos);
    if (!header) {
      ++pending.gaps;
      commit_whole = false;
      pos = next_good_record(data, size, pos + 1);
      continue;
    }
    const std::uint8_t* payload = data + pos + format::record_header_size;
    const std::size_t end = pos + format::record_header_size + header->length;
    pending.records.push_back(Record{header->type, {payload, data + end}, pos});
    if (header->flags & format::flag_first) commit_whole = true;
    if (header->flags & format::flag_last) {
      if (commit_whole) {
        pending.accept_into(report);
        report.valid_end = end;
      }
      commit_whole = false;  // the next record must open a new commit
    }
    pos = end;
  }
  report.torn_tail = report.valid_end < size;
  return report;
}

ReadReport read_journal(const std::filesystem::path& file) {
  const std::string bytes = fs::detail::read_whole_file(file, "journal.open", "journal.io");
  return parse_journal(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), file);
}

}  // namespace beamflow::journal
