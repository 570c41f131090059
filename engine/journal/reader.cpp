// Reading a journal: header check, then one pass over the records that keeps
// every good record up to the last whole commit and treats what follows it as
// the torn tail (rules in journal.hpp).
#include <algorithm>
#include <iterator>
#include <optional>
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

// One stretch of the file: a record that decodes, or bytes that do not (a gap
// running up to the next record that decodes).
struct Item {
  bool good = false;
  std::size_t offset = 0;
  std::size_t end = 0;
  format::RecordHeader header;
};

std::vector<Item> scan(const std::uint8_t* data, std::size_t size) {
  std::vector<Item> items;
  std::size_t pos = format::header_size;
  while (pos < size) {
    if (const auto header = format::decode_record(data + pos, size - pos)) {
      const std::size_t end = pos + format::record_header_size + header->length;
      items.push_back(Item{true, pos, end, *header});
      pos = end;
    } else {
      const std::size_t next = next_good_record(data, size, pos + 1);
      items.push_back(Item{false, pos, next, {}});
      pos = next;
    }
  }
  return items;
}

Record record_of(const std::uint8_t* data, const Item& item) {
  const std::uint8_t* payload = data + item.offset + format::record_header_size;
  return Record{item.header.type, {payload, data + item.end}, item.offset};
}

}  // namespace

std::string describe(const Damage& d) {
  std::string s = "damaged at byte " + std::to_string(d.offset) + " (record #" +
                  std::to_string(d.record + 1) + " of the journal";
  if (d.type) s += ", whose header names type " + std::to_string(*d.type);
  s += "): " + d.what + "; " + std::to_string(d.good_end) + " bytes before it are whole";
  return s;
}

ReadReport parse_journal(const std::uint8_t* data, std::size_t size,
                         const std::filesystem::path& file) {
  check_header(data, size, file);
  ReadReport report;
  report.file_size = size;
  report.valid_end = format::header_size;
  const std::vector<Item> items = scan(data, size);

  // Group the items into commits. A commit is whole when its records run from
  // a `first` to a `last` with nothing in between that fails to decode. The
  // first item that is not part of a whole commit is the first break.
  std::vector<bool> whole(items.size(), false);
  std::optional<std::size_t> first_break;  // item index where the kept history ends
  std::optional<Damage> damage;            // what broke there
  std::size_t records_seen = 0;            // decodable records before the current item
  auto note_break = [&](std::size_t kept_until, const Item& at, std::size_t record, std::string what) {
    if (first_break) return;
    first_break = kept_until;
    Damage d;
    d.offset = at.offset;
    d.good_end = items[kept_until].offset;
    d.record = record;
    d.what = std::move(what);
    if (!at.good && size - at.offset >= format::record_header_size &&
        format::load_u32(data + at.offset) == format::sync_marker)
      d.type = format::load_u16(data + at.offset + 12);
    else if (at.good)
      d.type = at.header.type;
    damage = std::move(d);
  };
  std::size_t i = 0;
  while (i < items.size()) {
    const Item& item = items[i];
    if (!item.good) {
      note_break(i, item, records_seen, "the bytes there do not decode as a record (sync marker, length, flags or CRC)");
      ++i;
      continue;
    }
    if (!(item.header.flags & format::flag_first)) {
      note_break(i, item, records_seen, "a record that does not open a commit follows a finished commit");
      ++records_seen;
      ++i;
      continue;
    }
    std::size_t j = i;
    bool closed = false;
    while (j < items.size() && items[j].good) {
      if (j > i && (items[j].header.flags & format::flag_first)) break;
      if (items[j].header.flags & format::flag_last) {
        closed = true;
        break;
      }
      ++j;
    }
    if (closed) {
      for (std::size_t k = i; k <= j; ++k) whole[k] = true;
      records_seen += j - i + 1;
      report.valid_end = items[j].end;
      i = j + 1;
      continue;
    }
    // The commit opened at i never closed: cut by a gap, by a new commit, or
    // by the end of the file.
    const std::size_t records_in = j - i;
    if (j < items.size())
      note_break(i, items[j], records_seen + records_in,
                 items[j].good ? "a commit begins before the previous one ended"
                               : "the bytes there do not decode as a record (sync marker, length, flags or CRC)");
    else
      note_break(i, items[i], records_seen, "a commit that never ended");
    records_seen += records_in;
    i = j;
  }

  const std::size_t kept = first_break.value_or(items.size());
  for (std::size_t k = 0; k < items.size(); ++k) {
    if (!items[k].good) {
      if (items[k].offset < report.valid_end) ++report.skipped_records;
      continue;
    }
    if (k < kept && whole[k]) report.records.push_back(record_of(data, items[k]));
    else if (k >= kept) report.after_damage.push_back(record_of(data, items[k]));
  }
  // A break with a whole commit after it is damage; one without is the torn
  // tail a crash leaves.
  if (damage && damage->good_end < report.valid_end) {
    report.damage = std::move(damage);
  } else {
    report.after_damage.clear();
  }
  report.torn_tail = report.valid_end < size;
  return report;
}

ReadReport read_journal(const std::filesystem::path& file) {
  const std::string bytes = fs::detail::read_whole_file(file, "journal.open", "journal.io");
  return parse_journal(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), file);
}

}  // namespace beamflow::journal
