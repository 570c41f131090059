#include "jobs/catalog/facet_codes.hpp"

#include <algorithm>

namespace beamflow::catalog::detail {

// The slot holding v, or the empty one where it would go. The value is a
// 64-bit hash already; the multiply spreads its bits over the index.
std::size_t FacetCodes::slot_of(const FacetValue& v) const {
  const std::size_t mask = m_slots.size() - 1;
  for (std::size_t i = (v.value * 0x9E3779B97F4A7C15ull) >> 32 & mask;; i = (i + 1) & mask) {
    const Slot& s = m_slots[i];
    if (s.code == 0 || (s.value == v.value && s.field == v.field)) return i;
  }
}

void FacetCodes::place(const FacetValue& v, std::uint32_t code) {
  Slot& s = m_slots[slot_of(v)];
  if (s.code == 0) s = {v.value, v.field, code};
}

std::uint64_t FacetCodes::code_of(const FacetValue& v) const {
  return m_slots.empty() ? 0 : m_slots[slot_of(v)].code;
}

void FacetCodes::append(const FacetValue& v) {
  m_values.push_back(v);
  ++m_per_field[v.field];
  if (m_values.size() * 2 > m_slots.size()) {
    m_slots.assign(std::max<std::size_t>(64, m_slots.size() * 2), Slot{});
    for (std::size_t i = 0; i < m_values.size(); ++i) place(m_values[i], static_cast<std::uint32_t>(i + 1));
  } else {
    place(v, static_cast<std::uint32_t>(m_values.size()));
  }
}

std::uint64_t FacetCodes::give(const FacetValue& v) {
  if (const std::uint64_t code = code_of(v)) return code;
  if (m_per_field[v.field] >= kPerField) return 0;
  append(v);
  return m_values.size();
}

// Rare (a rolled-back ingest): the slots are placed again from the codes kept.
void FacetCodes::truncate(std::size_t size) {
  if (m_values.size() <= size) return;
  for (std::size_t i = size; i < m_values.size(); ++i) --m_per_field[m_values[i].field];
  m_values.resize(size);
  std::fill(m_slots.begin(), m_slots.end(), Slot{});
  for (std::size_t i = 0; i < m_values.size(); ++i) place(m_values[i], static_cast<std::uint32_t>(i + 1));
}

bool FacetCodes::full(std::uint32_t field) const {
  const auto it = m_per_field.find(field);
  return it != m_per_field.end() && it->second >= kPerField;
}

std::string code_facet_values(const std::vector<FacetValue>& values, FacetCodes& codes) {
  std::string out;
  for (const auto& v : values) {
    std::uint64_t code = codes.give(v);
    if (code == 0) {
      out += '\0';
      put_le(out, v.field, 4);
      put_le(out, v.value, 8);
      continue;
    }
    for (; code >= 0x80; code >>= 7) out += static_cast<char>((code & 0x7f) | 0x80);
    out += static_cast<char>(code);
  }
  return out;
}

namespace {

// The code of the value at `at` in a coded column, `at` moved past its
// varint; 0 (an uncoded value) only with its 12 bytes there to follow.
std::uint64_t next_code(std::string_view coded, std::size_t& at, std::int64_t entry) {
  std::uint64_t code = 0;
  for (int shift = 0;; shift += 7) {
    if (at == coded.size() || shift > 63) facets_damaged(entry, "is cut short");
    const auto byte = static_cast<unsigned char>(coded[at++]);
    code |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if (byte < 0x80) break;
  }
  if (code == 0 && coded.size() - at < 12) facets_damaged(entry, "is cut short");
  return code;
}

}  // namespace

std::string coded_values_only(std::string_view coded, std::int64_t entry) {
  std::string out;
  out.reserve(coded.size());
  for (std::size_t at = 0; at < coded.size();) {
    const std::size_t from = at;
    if (next_code(coded, at, entry) == 0) at += 12;
    else out.append(coded.substr(from, at - from));
  }
  return out;
}

void count_coded_facet_values(std::string_view coded, const FacetCodes& codes, std::int64_t entry,
                              TermsCounter& counter) {
  for (std::size_t at = 0; at < coded.size();) {
    const std::uint64_t code = next_code(coded, at, entry);
    if (code == 0) {
      counter.count(entry, static_cast<std::uint32_t>(get_le(coded, at, 4)), get_le(coded, at + 4, 8));
      at += 12;
    } else if (code <= codes.size()) {
      const FacetValue& v = codes.values()[code - 1];
      counter.count(entry, v.field, v.value);
    } else {
      facets_damaged(entry, "names a value code the catalog does not hold (" + std::to_string(code) + ")");
    }
  }
}

}  // namespace beamflow::catalog::detail
