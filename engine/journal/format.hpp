#pragma once
// The journal's on-disk layout in one place: the reader, the writer and the
// compactor encode and decode through these helpers (layout in journal.hpp).
// Exposed so tests can build and damage files byte by byte.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace beamflow::journal::format {

inline constexpr std::array<std::uint8_t, 8> magic = {'B', 'F', 'J', 'O', 'U', 'R', 'N', 'L'};
inline constexpr std::uint32_t version = 1;
inline constexpr std::size_t header_size = 16;

// The bytes "BFJR" read as a little-endian u32; a reader resynchronises on it
// after a corrupt record.
inline constexpr std::uint32_t sync_marker = 0x524A4642u;
inline constexpr std::size_t record_header_size = 16;
// A larger length field is corruption, not data: the engine never writes
// records this big, and the cap bounds what a reader allocates for garbage.
inline constexpr std::uint32_t max_payload = 256u << 20;

// Record flags: the first and the last record of one commit(). A commit
// counts only when its records run from a `first` to a `last` with no gap, so
// a crash in the middle of a commit never leaves half of it behind.
inline constexpr std::uint16_t flag_first = 1;
inline constexpr std::uint16_t flag_last = 2;
inline constexpr std::uint16_t known_flags = flag_first | flag_last;

std::array<std::uint8_t, header_size> encode_header() noexcept;

// Appends an unsealed record (flags 0, CRC 0) to `out` and returns its offset
// there. The caller keeps `size` <= max_payload.
std::size_t append_record(std::vector<std::uint8_t>& out, std::uint16_t type,
                          const std::uint8_t* payload, std::size_t size);
// Sets the flags of the whole record starting at `record` and computes its CRC.
void seal_record(std::uint8_t* record, std::uint16_t flags) noexcept;

struct RecordHeader {
  std::uint32_t length = 0;
  std::uint16_t type = 0;
  std::uint16_t flags = 0;
};
// Decodes the record starting at `data` with `available` bytes readable from
// there: nullopt unless the record is whole and its sync marker, length,
// flags and CRC all check out.
std::optional<RecordHeader> decode_record(const std::uint8_t* data, std::size_t available) noexcept;

std::uint32_t load_u32(const std::uint8_t* p) noexcept;
std::uint16_t load_u16(const std::uint8_t* p) noexcept;
void store_u32(std::uint8_t* p, std::uint32_t v) noexcept;
void store_u16(std::uint8_t* p, std::uint16_t v) noexcept;

}  // namespace beamflow::journal::format
