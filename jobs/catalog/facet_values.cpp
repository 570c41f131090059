#include "jobs/catalog/facet_values.hpp"

#include <algorithm>

#include "jobs/catalog/errors.hpp"
#include "jobs/catalog/sql_plan.hpp"

namespace beamflow::catalog::detail {
void put_le(std::string& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

std::uint64_t get_le(std::string_view in, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[at + i])) << (8 * i);
  return v;
}

void facets_damaged(std::int64_t entry, const std::string& what) {
  fail("catalog.db", "catalog row " + std::to_string(entry) + " cannot be read: its facets column " + what,
       {{"row", std::to_string(entry)}, {"column", "facets"}});
}

std::vector<FacetValue> facet_values_of(const IndexTerms& terms) {
  std::vector<FacetValue> values;
  values.reserve(terms.fields.size());
  for (const auto& f : terms.fields) values.push_back({field_hash(f.field), field_value_hash(f.field, f.text)});
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  return values;
}

// Groups of [field hash: 4 bytes][n: 1 byte][n value hashes: 8 bytes each],
// little-endian; a field with more than 255 values takes several groups.
// Built from hashes alone (sorted, repeats dropped): no string is copied.
std::string pack_facet_values(const IndexTerms& terms) {
  const std::vector<FacetValue> values = facet_values_of(terms);
  std::string out;
  out.reserve(values.size() * 13);
  for (std::size_t i = 0; i < values.size();) {
    std::size_t n = 0;
    while (i + n < values.size() && n < 255 && values[i + n].field == values[i].field) ++n;
    put_le(out, values[i].field, 4);
    out += static_cast<char>(n);
    for (std::size_t k = 0; k < n; ++k) put_le(out, values[i + k].value, 8);
    i += n;
  }
  return out;
}

TermsCounter::TermsCounter(const std::vector<Facet>& facets) : m_facets(facets), m_counts(facets.size()) {
  for (std::size_t i = 0; i < facets.size(); ++i)
    if (facets[i].kind == FacetKind::Terms) m_index[field_hash(facets[i].field)].push_back(i);
}

void TermsCounter::add(std::int64_t entry, std::string_view packed) {
  std::size_t at = 0;
  while (at < packed.size()) {
    if (packed.size() - at < 5)
      facets_damaged(entry, "is cut short");
    const auto field = static_cast<std::uint32_t>(get_le(packed, at, 4));
    const std::size_t n = static_cast<unsigned char>(packed[at + 4]);
    at += 5;
    if (packed.size() - at < 8 * n)
      facets_damaged(entry, "is cut short");
    if (auto it = m_index.find(field); it != m_index.end())
      for (std::size_t k = 0; k < n; ++k) count(entry, it->second, get_le(packed, at + 8 * k, 8));
    at += 8 * n;
  }
}

void TermsCounter::count(std::int64_t entry, const std::vector<std::size_t>& facets, std::uint64_t value) {
  for (std::size_t i : facets) {
    Count& c = m_counts[i][value];
    if (c.n++ == 0) c.entry = entry;
  }
}

std::vector<std::vector<FacetBucket>> TermsCounter::buckets(const FieldTexts& texts) const {
  std::vector<std::size_t> which;
  for (std::size_t i = 0; i < m_facets.size(); ++i)
    if (m_facets[i].kind == FacetKind::Terms) which.push_back(i);
  return buckets_of(which, texts);
}

std::vector<std::vector<FacetBucket>> TermsCounter::buckets_of(const std::vector<std::size_t>& which,
                                                               const FieldTexts& texts) const {
  // Each facet's values by count, descending, and how far its first
  // look-up reaches: every bucket of the counts its first `size` buckets
  // fall in.
  struct Ranked {
    std::vector<std::pair<std::uint64_t, Count>> order;
    std::size_t size = 0, asked = 0;
  };
  std::vector<Ranked> ranked(m_facets.size());
  // The end of the run of equal counts of `order` that starts at `from`.
  auto group_end = [](const auto& order, std::size_t from) {
    std::size_t to = from;
    while (to < order.size() && order[to].second.n == order[from].second.n) ++to;
    return to;
  };
  auto keys = [this](const Ranked& r, std::size_t i, std::size_t from, std::size_t to, std::vector<FieldKey>& out) {
    for (std::size_t k = from; k < to; ++k) out.emplace_back(m_facets[i].field, r.order[k].second.entry);
  };
  std::vector<FieldKey> first;
  for (const std::size_t i : which) {
    Ranked& r = ranked.at(i);
    r.order.assign(m_counts.at(i).begin(), m_counts[i].end());
    std::sort(r.order.begin(), r.order.end(), [](const auto& a, const auto& b) { return a.second.n > b.second.n; });
    r.size = static_cast<std::size_t>(std::max(m_facets[i].size, 0));
    while (r.asked < r.order.size() && r.asked < r.size) r.asked = group_end(r.order, r.asked);
    keys(r, i, 0, r.asked, first);
  }
  // The texts found so far, of every facet: the first look-ups in one call.
  std::map<FieldKey, std::vector<std::string>> found;
  if (!first.empty()) found = texts(first);
  std::vector<std::vector<FacetBucket>> out(m_facets.size());
  for (const std::size_t i : which) {
    Ranked& r = ranked[i];
    const std::string& field = m_facets[i].field;
    // Equal counts are ordered by their text: name every bucket of a count
    // before keeping the first of them; a later count is looked up only
    // when some of those could not be named.
    for (std::size_t from = 0; from < r.order.size() && out[i].size() < r.size;) {
      const std::size_t to = group_end(r.order, from);
      if (to > r.asked) {
        std::vector<FieldKey> later;
        keys(r, i, r.asked, to, later);
        found.merge(texts(later));
        r.asked = to;
      }
      std::vector<std::string> named;
      for (std::size_t k = from; k < to; ++k) {
        const auto it = found.find({field, r.order[k].second.entry});
        if (it == found.end()) continue;
        for (const auto& text : it->second)
          if (field_value_hash(field, text) == r.order[k].first) {
            named.push_back(text);
            break;
          }
      }
      std::sort(named.begin(), named.end());
      for (auto& text : named) {
        if (out[i].size() == r.size) break;
        out[i].push_back({Json(std::move(text)), r.order[from].second.n});
      }
      from = to;
    }
  }
  return out;
}

}  // namespace beamflow::catalog::detail
