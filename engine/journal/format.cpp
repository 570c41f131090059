#include "journal/format.hpp"

#include <algorithm>

#include "journal/journal.hpp"

namespace beamflow::journal::format {
namespace {
// Field offsets inside a record header.
constexpr std::size_t at_sync = 0;
constexpr std::size_t at_length = 4;
constexpr std::size_t at_crc = 8;
constexpr std::size_t at_type = 12;
constexpr std::size_t at_flags = 14;

// The CRC covers length, type, flags and payload: everything but the sync
// marker and the CRC itself.
std::uint32_t record_crc(const std::uint8_t* record, std::uint32_t length) noexcept {
  const std::uint32_t crc = crc32c(record + at_length, 4);
  return crc32c(record + at_type, record_header_size - at_type + length, crc);
}
}  // namespace

std::uint32_t load_u32(const std::uint8_t* p) noexcept {
  return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 |
         std::uint32_t{p[3]} << 24;
}
std::uint16_t load_u16(const std::uint8_t* p) noexcept {
  return static_cast<std::uint16_t>(p[0] | p[1] << 8);
}
void store_u32(std::uint8_t* p, std::uint32_t v) noexcept {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
void store_u16(std::uint8_t* p, std::uint16_t v) noexcept {
  p[0] = static_cast<std::uint8_t>(v);
  p[1] = static_cast<std::uint8_t>(v >> 8);
}

std::array<std::uint8_t, header_size> encode_header() noexcept {
  std::array<std::uint8_t, header_size> h{};
  std::copy(magic.begin(), magic.end(), h.begin());
  store_u32(h.data() + 8, version);
  store_u32(h.data() + 12, 0);  // flags
  return h;
}

std::size_t append_record(std::vector<std::uint8_t>& out, std::uint16_t type,
                          const std::uint8_t* payload, std::size_t size) {
  const std::size_t offset = out.size();
  out.resize(offset + record_header_size + size);
  std::uint8_t* rec = out.data() + offset;
  store_u32(rec + at_sync, sync_marker);
  store_u32(rec + at_length, static_cast<std::uint32_t>(size));
  store_u32(rec + at_crc, 0);
  store_u16(rec + at_type, type);
  store_u16(rec + at_flags, 0);
  if (size) std::copy(payload, payload + size, rec + record_header_size);
  return offset;
}

void seal_record(std::uint8_t* record, std::uint16_t flags) noexcept {
  store_u16(record + at_flags, flags);
  store_u32(record + at_crc, record_crc(record, load_u32(record + at_length)));
}

std::optional<RecordHeader> decode_record(const std::uint8_t* data, std::size_t available) noexcept {
  if (available < record_header_size || load_u32(data + at_sync) != sync_marker) return std::nullopt;
  RecordHeader h;
  h.length = load_u32(data + at_length);
  h.type = load_u16(data + at_type);
  h.flags = load_u16(data + at_flags);
  if (h.length > max_payload || h.length > available - record_header_size) return std::nullopt;
  if ((h.flags & ~known_flags) != 0) return std::nullopt;
  if (record_crc(data, h.length) != load_u32(data + at_crc)) return std::nullopt;
  return h;
}

}  // namespace beamflow::journal::format
