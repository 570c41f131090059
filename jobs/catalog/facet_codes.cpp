#include "jobs/catalog/facet_codes.hpp"

namespace beamflow::catalog::detail {

std::uint64_t FacetCodes::code_of(const FacetValue& v) const {
  const auto it = m_codes.find(v.value);
  return it != m_codes.end() && m_values[it->second - 1] == v ? it->second : 0;
}

void FacetCodes::append(const FacetValue& v) {
  m_values.push_back(v);
  m_codes.emplace(v.value, m_values.size());
  ++m_per_field[v.field];
}

std::uint64_t FacetCodes::give(const FacetValue& v) {
  if (const std::uint64_t code = code_of(v)) return code;
  if (m_per_field[v.field] >= kPerField) return 0;
  append(v);
  return m_values.size();
}

void FacetCodes::truncate(std::size_t size) {
  while (m_values.size() > size) {
    const FacetValue v = m_values.back();
    if (auto it = m_codes.find(v.value); it != m_codes.end() && it->second == m_values.size()) m_codes.erase(it);
    --m_per_field[v.field];
    m_values.pop_back();
  }
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

void count_coded_facet_values(std::string_view coded, const FacetCodes& codes, std::int64_t entry,
                              TermsCounter& counter) {
  for (std::size_t at = 0; at < coded.size();) {
    std::uint64_t code = 0;
    for (int shift = 0;; shift += 7) {
      if (at == coded.size() || shift > 63) facets_damaged(entry, "is cut short");
      const auto byte = static_cast<unsigned char>(coded[at++]);
      code |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
      if (byte < 0x80) break;
    }
    if (code == 0) {
      if (coded.size() - at < 12) facets_damaged(entry, "is cut short");
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
