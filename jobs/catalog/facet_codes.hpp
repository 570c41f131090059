#pragma once
// Terms facets' values in fewer bytes (SQLite schema version 7). The
// packed form (facet_values.hpp) spends 13 bytes on a field's first value
// and 8 on each other: ~206 bytes of a ~293-byte live_entries row at
// 1,000,000 bench entries, and a search reads one such row a hit at a
// random page, so the table's size is how many pages the first searches
// of a process touch for the first time (what their p99 was made of).
// Here a value a catalog has given a code (its facet_codes row, code 1,
// 2, ...) takes that code as a varint: 1-2 bytes. Codes are given at
// ingest, up to kPerField values a field, so a field whose values never
// repeat (titles, identifiers) stops taking codes early; its values keep
// their hashes, 13 bytes each. Counting is by the same 64-bit hashes as
// before: a code stands for its (field hash, value hash), so a value
// counts the same whether one entry holds it coded and another not.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "jobs/catalog/entry.hpp"
#include "jobs/catalog/facet_values.hpp"

namespace beamflow::catalog::detail {

// A catalog's codes as far as read: code n is values()[n - 1]. Codes are
// only ever added, in order, by the writer holding the catalog's write lock.
class FacetCodes {
 public:
  // Codes a field may take; beyond them its new values keep their hashes.
  static constexpr std::size_t kPerField = 4096;
  std::size_t size() const { return m_values.size(); }
  const std::vector<FacetValue>& values() const { return m_values; }
  // The value's code; 0 when it has none.
  std::uint64_t code_of(const FacetValue& v) const;
  // Appends code size() + 1 for `v` (read from the catalog, or given now).
  void append(const FacetValue& v);
  // The value's code, giving it the next one when it has none and its
  // field has fewer than kPerField; 0 when it has none.
  std::uint64_t give(const FacetValue& v);
  // Forgets the codes from `size` on (those a rolled-back ingest gave).
  void truncate(std::size_t size);
  // Whether `field` (its field_hash) holds kPerField codes: only such a
  // field has values without one (given none once it was full).
  bool full(std::uint32_t field) const;

 private:
  // Where code_of looks for v: open addressing, the slots a power of two
  // at most half full, probed from a slot the value hash picks. Ingest asks
  // for every value of every entry (most of them found, a unique-valued
  // field's never): as std::unordered_map's chained nodes that was ~5% of
  // ingest CPU at 1,000,000 entries, nearly all of it cache misses on the
  // bucket, each node and the value it names, and a division a node.
  struct Slot {
    std::uint64_t value = 0;
    std::uint32_t field = 0;
    std::uint32_t code = 0;  // 0: empty
  };
  std::size_t slot_of(const FacetValue& v) const;
  void place(const FacetValue& v, std::uint32_t code);

  std::vector<FacetValue> m_values;
  std::vector<Slot> m_slots;
  std::unordered_map<std::uint32_t, std::size_t> m_per_field;
};

// The coded column, giving codes (FacetCodes::give): each value as its
// code (a varint), or as 0 followed by its field hash (4 bytes) and value
// hash (8 bytes), little-endian.
std::string code_facet_values(const std::vector<FacetValue>& values, FacetCodes& codes);

// The coded column's coded values alone, its uncoded ones (0, field hash,
// value hash) left out: what SQLite's live_entries.facets holds (schema
// version 9). Uncoded values belong to full fields only (FacetCodes::full):
// a search counting terms facets on other fields needs no more. A column
// cut short is catalog.db naming the row.
std::string coded_values_only(std::string_view coded, std::int64_t entry);

// Counts a coded column's values for `entry` into `counter`; a column cut
// short or a code `codes` has not read is catalog.db naming the row.
void count_coded_facet_values(std::string_view coded, const FacetCodes& codes, std::int64_t entry,
                              TermsCounter& counter);

}  // namespace beamflow::catalog::detail
