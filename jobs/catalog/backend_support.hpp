#pragma once
// What both catalog backends share beyond the planned SQL: the schema's
// column list, turning a row of text values into an Entry, the rows an
// entry indexes, and the facet buckets and cursor of a search result.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jobs/catalog/catalog.hpp"
#include "jobs/catalog/facet_codes.hpp"
#include "jobs/catalog/facet_values.hpp"
#include "jobs/catalog/sql_plan.hpp"

namespace beamflow::catalog::detail {

// The columns every entry query selects, in this order (entry_from_row).
inline constexpr const char* kEntryColumns =
    "id, identifier, version, collection, status, owner, visible_to, content, location, manifest, bytes, "
    "files, published_ms, request_id, reason, decided_by";

// A row of kEntryColumns, every value as text (NULL as nullopt).
Entry entry_from_row(const std::vector<std::optional<std::string>>& row);

// A collection from its row's values (the schema and curators columns hold
// JSON text). Stored JSON is parsed depth-limited like any input; a row
// that cannot be read is catalog.db naming the collection.
Collection collection_from_row(const std::string& name, const std::string& schema, bool requires_approval,
                               const std::string& curators);

// Whether everyone may see the entry (its visible_to names "public"): the
// entries' `public` flag, so a search checks no principal rows for it.
bool is_public(const Entry& e);
// The principal rows of an entry that is not public: its visible_to plus
// its owner. None for a public entry (a search never reads them).
std::vector<std::string> visibility_rows(const Entry& e);

// One (field, entry) row of the fields table.
struct FieldRow {
  std::int64_t entry;
  IndexedField field;
};
// Appends the entry's field rows to `rows` (since schema version 4 only
// its numbers and dates: what range filters and histograms read) and
// returns its exact-filter tokens (filter_token of every field value,
// `prefix` before each, joined by spaces).
std::string add_field_rows(std::int64_t entry, const IndexTerms& terms, const char* prefix, std::vector<FieldRow>& rows);
// In the fields key's order (field, entry, sval): a batch's rows are
// appended at the end of each field's range, a few dozen places, instead
// of written at random pages.
void sort_field_rows(std::vector<FieldRow>& rows);

// Whether an entry holds every exact filter of `filters`
// (match_any: one of its values; match_all: each). A search matches exact
// filters by their 64-bit hash tokens alone; the entries it returns are
// checked with this, so a hash collision never returns a wrong entry.
bool holds_exact_filters(const std::vector<Filter>& filters, const Entry& entry);
bool has_exact_filters(const std::vector<Filter>& filters);

// The texts of (field, entry) pairs read from those entries' content
// (field_values): what names a terms facet's buckets since schema version 4
// (FieldTexts). `entries` holds the entries the keys name.
std::map<FieldKey, std::vector<std::string>> field_texts_of(const std::vector<FieldKey>& keys,
                                                            const std::vector<Entry>& entries);
// The same from entries by row (`entries` holds those the keys name).
std::map<FieldKey, std::vector<std::string>> field_texts_of(const std::vector<FieldKey>& keys,
                                                            const std::map<std::int64_t, Entry>& entries);
// The distinct entries of those keys, for the backend to load.
std::vector<std::int64_t> entries_of(const std::vector<FieldKey>& keys);

// A facet bucket from the backend's bucket column (text).
FacetBucket facet_bucket(const Facet& facet, const std::string& bucket, std::int64_t count);

// The rows of a plan's search statement (SearchPlan says what each part
// holds), in whatever order the backend returns them, into a result.
class SearchRows {
 public:
  struct Page {
    std::int64_t seq, id;
    std::vector<std::string> keys;  // the sort values, as text
  };
  SearchRows(const Query& query, const SearchPlan& plan);
  void add_page(std::int64_t seq, std::int64_t id, std::vector<std::string> keys) {
    m_page.push_back({seq, id, std::move(keys)});
  }
  void set_total(std::int64_t n) { m_total = n; }
  void add_bucket(std::int64_t part, std::int64_t seq, const std::string& bucket, std::int64_t n);
  bool is_facet_values(std::int64_t part) const { return part == m_plan.facet_values; }
  // The ids of the page's first `limit` rows added so far (what the
  // search returns, in no order): a backend may load them with the
  // facets' bucket names, before finish.
  std::vector<std::int64_t> page_ids(int limit) const;
  void add_facet_values(std::int64_t id, std::string_view packed) { m_terms.add(id, packed); }
  void add_coded_facet_values(std::int64_t id, std::string_view coded, const FacetCodes& codes) {
    count_coded_facet_values(coded, codes, id, m_terms);
  }
  // Sets the result's total and facets (terms facets named through
  // `texts`: one call for all of them, a later one only for a bucket it
  // could not name) and returns the page rows in order (limit + 1 at most).
  std::vector<Page> finish(SearchResult& result, const FieldTexts& texts);

 private:
  const Query& m_query;
  const SearchPlan& m_plan;
  std::vector<Page> m_page;
  std::int64_t m_total = 0;
  std::vector<std::vector<std::pair<std::int64_t, FacetBucket>>> m_buckets;  // per facet, with seq
  TermsCounter m_terms;
};

// The next-page marker from the last row's sort values (as text, in plan
// order); empty when `has_more` is false.
std::string next_marker(const SearchPlan& plan, std::int64_t row, const std::vector<std::string>& keys,
                        bool has_more);

}  // namespace beamflow::catalog::detail
