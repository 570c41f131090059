#pragma once
// Terms facets without a probe per hit (schema version 3). Each entry row
// carries its facet values packed: for every field, a 32-bit hash of the
// field's name and the 64-bit hash of each (field, value) it holds
// (field_value_hash, the exact-filter token's hash), about 12 bytes a
// value. A search reads that column with the matched rows (from the
// live_entries row it already reads, schema version 5) and counts in C++, so every field stays facetable
// and a terms facet costs a hash-map increment per value instead of a
// b-tree probe per hit. Only the buckets a result shows are turned back
// into text: from the content of one entry that holds the value, read
// after counting (schema version 4: text values have no field rows), so
// the text is never stored twice.
//
// A 64-bit hash collision between two values of one field would merge
// their buckets (at a million distinct values, odds about 3 in 10^8); a
// collision of two field names' 32-bit hashes only adds buckets that
// cannot be resolved to text, which are skipped.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "jobs/catalog/catalog.hpp"
#include "jobs/catalog/entry.hpp"

namespace beamflow::catalog::detail {

// One facet value: the hash of its field's name (field_hash) and of the
// field and value (field_value_hash).
struct FacetValue {
  std::uint32_t field = 0;
  std::uint64_t value = 0;
  friend bool operator<(const FacetValue& a, const FacetValue& b) {
    return a.field != b.field ? a.field < b.field : a.value < b.value;
  }
  friend bool operator==(const FacetValue& a, const FacetValue& b) = default;
};

// An entry's facet values, by field then value, without repeats.
std::vector<FacetValue> facet_values_of(const IndexTerms& terms);

// The packed facet values of an entry's index fields (bytes; may hold NUL).
std::string pack_facet_values(const IndexTerms& terms);

// Little-endian integers of `bytes` bytes, as the packed and the coded
// (facet_codes.hpp) columns hold them.
void put_le(std::string& out, std::uint64_t v, int bytes);
std::uint64_t get_le(std::string_view in, std::size_t at, int bytes);

// A facets column (packed or coded) that cannot be read: catalog.db naming
// the row and `what` is wrong with the column, one wording for both codings.
[[noreturn]] void facets_damaged(std::int64_t entry, const std::string& what);

// The text values of (field, entry) pairs, from those entries' content: what a
// backend gives TermsCounter to name the buckets it shows.
using FieldKey = std::pair<std::string, std::int64_t>;
using FieldTexts = std::function<std::map<FieldKey, std::vector<std::string>>(const std::vector<FieldKey>&)>;

// Counts the terms facets of a query over the matched entries' packed
// values; the other facet kinds are left to SQL.
class TermsCounter {
 public:
  explicit TermsCounter(const std::vector<Facet>& facets);
  bool any() const { return !m_index.empty(); }
  // One matched entry and its packed values (a damaged column is catalog.db).
  void add(std::int64_t entry, std::string_view packed);
  // One value of a matched entry.
  void count(std::int64_t entry, std::uint32_t field, std::uint64_t value) {
    if (auto it = m_index.find(field); it != m_index.end()) count(entry, it->second, value);
  }
  // Buckets of facet `i` (a terms facet): count descending, then text
  // ascending, at most its size; texts looked up through `texts`, in one
  // call for every bucket of the counts the first `size` buckets fall in
  // (one statement, not one a count), later counts only when some of those
  // cannot be named.
  std::vector<FacetBucket> buckets(std::size_t i, const FieldTexts& texts) const { return buckets_of({i}, texts).at(i); }
  // The same for every terms facet of the query (element i: facet i's
  // buckets; empty for other kinds), the first look-ups of all of them in
  // one texts() call: a search names all its terms facets in one statement
  // (PostgreSQL: one round trip and one statement instead of one a facet).
  std::vector<std::vector<FacetBucket>> buckets(const FieldTexts& texts) const;

 private:
  // Buckets of the facets `which` (others' elements empty), as above.
  std::vector<std::vector<FacetBucket>> buckets_of(const std::vector<std::size_t>& which, const FieldTexts& texts) const;
  void count(std::int64_t entry, const std::vector<std::size_t>& facets, std::uint64_t value);
  struct Count {
    std::int64_t n = 0;
    std::int64_t entry = 0;  // one entry holding the value
  };
  const std::vector<Facet>& m_facets;
  // field hash -> the indexes of the terms facets on that field
  std::unordered_map<std::uint32_t, std::vector<std::size_t>> m_index;
  std::vector<std::unordered_map<std::uint64_t, Count>> m_counts;  // per facet
};

}  // namespace beamflow::catalog::detail
