#include "jobs/catalog/backend_support.hpp"

#include <algorithm>
#include <set>
#include <string_view>
#include <unordered_map>

#include "core/json_parse.hpp"
#include "jobs/catalog/errors.hpp"

namespace beamflow::catalog::detail {
namespace {

const std::string& need(const std::optional<std::string>& v) {
  static const std::string empty;
  return v ? *v : empty;
}

// A JSON column of a stored row: depth-limited while parsing
// (core/json_parse.hpp), so a tampered database cannot crash a reader.
Json json_column(const std::string& text, const char* column, Error::Context context) {
  return parse_json_as(text, column, "catalog.db", kCatalogError,
                       std::string("a catalog row cannot be read: its ") + column + " column", std::move(context));
}

}  // namespace

Entry entry_from_row(const std::vector<std::optional<std::string>>& r) {
  Entry e;
  try {
    e.row = std::stoll(need(r.at(0)));
    e.identifier = need(r[1]);
    e.version = std::stoi(need(r[2]));
    e.collection = need(r[3]);
    e.status = status_from_string(need(r[4]));
    e.owner = need(r[5]);
    const Error::Context at{{"row", need(r.at(0))}};
    e.visible_to = json_column(need(r[6]), "visible_to", at).get<std::vector<std::string>>();
    e.content = json_column(need(r[7]), "content", at);
    e.location = need(r[8]);
    e.manifest_digest = need(r[9]);
    e.bytes = std::stoull(need(r[10]));
    e.files = std::stoull(need(r[11]));
    e.published_ms = std::stoll(need(r[12]));
    e.request_id = need(r[13]);
    e.reason = need(r[14]);
    e.decided_by = need(r[15]);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& ex) {
    fail("catalog.db", std::string("a catalog row cannot be read: ") + ex.what(), {{"row", need(r.at(0))}});
  }
  return e;
}

Collection collection_from_row(const std::string& name, const std::string& schema, bool requires_approval,
                               const std::string& curators) {
  Collection c;
  c.name = name;
  c.requires_approval = requires_approval;
  const Error::Context at{{"collection", name}};
  c.schema = json_column(schema, "schema", at);
  try {
    c.curators = json_column(curators, "curators", at).get<std::vector<std::string>>();
  } catch (const Json::exception& ex) {
    fail("catalog.db", std::string("a collection row cannot be read: ") + ex.what(), at);
  }
  return c;
}

bool is_public(const Entry& e) { return std::find(e.visible_to.begin(), e.visible_to.end(), "public") != e.visible_to.end(); }

std::vector<std::string> visibility_rows(const Entry& e) {
  if (is_public(e)) return {};
  std::set<std::string> s(e.visible_to.begin(), e.visible_to.end());
  if (!e.owner.empty()) s.insert("user:" + e.owner);
  return {s.begin(), s.end()};
}

std::string add_field_rows(std::int64_t entry, const IndexTerms& terms, const char* prefix, std::vector<FieldRow>& rows) {
  // A repeat of an earlier (field, text) is found by its hash among the
  // entry's few dozen fields, then compared: no set of copied strings (it
  // was ~10% of an ingest's CPU).
  std::vector<std::uint64_t> hashes;
  hashes.reserve(terms.fields.size());
  std::string tokens;
  for (std::size_t i = 0; i < terms.fields.size(); ++i) {
    const IndexedField& f = terms.fields[i];
    const std::uint64_t h = field_value_hash(f.field, f.text);
    bool repeat = false;
    for (std::size_t j = 0; j < i && !repeat; ++j)
      repeat = hashes[j] == h && terms.fields[j].field == f.field && terms.fields[j].text == f.text;
    hashes.push_back(h);
    if (repeat) continue;
    if (!tokens.empty()) tokens += ' ';
    tokens += prefix;
    tokens += filter_token(h);
    if (f.has_number) rows.push_back({entry, f});
  }
  return tokens;
}

bool has_exact_filters(const std::vector<Filter>& filters) {
  return std::any_of(filters.begin(), filters.end(), [](const Filter& f) {
    return f.kind == FilterKind::MatchAny || f.kind == FilterKind::MatchAll;
  });
}

bool holds_exact_filters(const std::vector<Filter>& filters, const Entry& entry) {
  for (const auto& f : filters) {
    if (f.kind != FilterKind::MatchAny && f.kind != FilterKind::MatchAll) continue;
    const auto held = field_values(entry, f.field);
    auto holds = [&](const std::string& v) { return std::find(held.begin(), held.end(), v) != held.end(); };
    const bool ok = f.kind == FilterKind::MatchAny ? std::any_of(f.values.begin(), f.values.end(), holds)
                                                   : std::all_of(f.values.begin(), f.values.end(), holds);
    if (!ok) return false;
  }
  return true;
}

std::vector<std::int64_t> entries_of(const std::vector<FieldKey>& keys) {
  std::set<std::int64_t> ids;
  for (const auto& key : keys) ids.insert(key.second);
  return {ids.begin(), ids.end()};
}

namespace {
// field_texts_of over any map from row to an entry (`entry` reads its value).
template <class ByRow, class Get>
std::map<FieldKey, std::vector<std::string>> texts_by_row(const std::vector<FieldKey>& keys, const ByRow& by_row,
                                                          Get entry) {
  std::map<FieldKey, std::vector<std::string>> out;
  for (const auto& key : keys) {
    const auto e = by_row.find(key.second);
    if (e != by_row.end() && !out.count(key)) out[key] = field_values(entry(e->second), key.first);
  }
  return out;
}
}  // namespace

std::map<FieldKey, std::vector<std::string>> field_texts_of(const std::vector<FieldKey>& keys,
                                                            const std::vector<Entry>& entries) {
  std::map<std::int64_t, const Entry*> by_row;
  for (const auto& e : entries) by_row.emplace(e.row, &e);
  return texts_by_row(keys, by_row, [](const Entry* e) -> const Entry& { return *e; });
}

std::map<FieldKey, std::vector<std::string>> field_texts_of(const std::vector<FieldKey>& keys,
                                                            const std::map<std::int64_t, Entry>& entries) {
  return texts_by_row(keys, entries, [](const Entry& e) -> const Entry& { return e; });
}

void sort_field_rows(std::vector<FieldRow>& rows) {
  // Sorted as keys (the field's rank among the batch's few distinct names,
  // the entry, the row's place), the rows then moved once into that order:
  // sorting the rows themselves compared field names at every step and
  // moved two strings a swap (2.6% of a SQLite ingest's instructions).
  std::unordered_map<std::string_view, std::uint32_t> rank;
  for (const auto& r : rows) rank.emplace(r.field.field, 0);
  std::vector<std::string_view> names;
  names.reserve(rank.size());
  for (const auto& [name, unused] : rank) names.push_back(name);
  std::sort(names.begin(), names.end());
  for (std::size_t i = 0; i < names.size(); ++i) rank[names[i]] = static_cast<std::uint32_t>(i);
  struct Key {
    std::uint32_t field;
    std::uint32_t at;
    std::int64_t entry;
  };
  std::vector<Key> keys;
  keys.reserve(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i)
    keys.push_back({rank[rows[i].field.field], static_cast<std::uint32_t>(i), rows[i].entry});
  std::sort(keys.begin(), keys.end(), [&rows](const Key& a, const Key& b) {
    if (a.field != b.field) return a.field < b.field;
    if (a.entry != b.entry) return a.entry < b.entry;
    return rows[a.at].field.text < rows[b.at].field.text;
  });
  std::vector<FieldRow> sorted;
  sorted.reserve(rows.size());
  for (const auto& k : keys) sorted.push_back(std::move(rows[k.at]));
  rows = std::move(sorted);
}

FacetBucket facet_bucket(const Facet& facet, const std::string& bucket, std::int64_t count) {
  if (facet.kind != FacetKind::NumericHistogram) return {Json(bucket), count};
  const double width = (facet.high - facet.low) / facet.size;
  const long long i = std::stoll(bucket);
  return {Json{{"from", facet.low + static_cast<double>(i) * width},
               {"to", facet.low + static_cast<double>(i + 1) * width}},
          count};
}

SearchRows::SearchRows(const Query& query, const SearchPlan& plan)
    : m_query(query), m_plan(plan), m_buckets(query.facets.size()), m_terms(query.facets) {}

std::vector<std::int64_t> SearchRows::page_ids(int limit) const {
  std::vector<std::int64_t> ids;
  for (const auto& p : m_page)
    if (p.seq <= limit) ids.push_back(p.id);
  return ids;
}

void SearchRows::add_bucket(std::int64_t part, std::int64_t seq, const std::string& bucket, std::int64_t n) {
  const auto i = static_cast<std::size_t>(part - 2);
  m_buckets.at(i).emplace_back(seq, facet_bucket(m_query.facets.at(i), bucket, n));
}

std::vector<SearchRows::Page> SearchRows::finish(SearchResult& result, const FieldTexts& texts) {
  result.total = m_total;
  result.facets.clear();
  // Every terms facet named at once: one look-up (statement) for them all.
  auto terms = m_terms.buckets(texts);
  for (std::size_t i = 0; i < m_query.facets.size(); ++i) {
    FacetResult f{m_query.facets[i].name, {}};
    if (m_query.facets[i].kind == FacetKind::Terms) {
      f.buckets = std::move(terms.at(i));
    } else {
      auto& b = m_buckets[i];
      std::sort(b.begin(), b.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
      for (auto& [seq, bucket] : b) f.buckets.push_back(std::move(bucket));
    }
    result.facets.push_back(std::move(f));
  }
  std::sort(m_page.begin(), m_page.end(), [](const Page& a, const Page& b) { return a.seq < b.seq; });
  return std::move(m_page);
}

std::string next_marker(const SearchPlan& plan, std::int64_t row, const std::vector<std::string>& keys,
                        bool has_more) {
  if (!has_more) return {};
  Cursor c;
  c.row = row;
  for (std::size_t i = 0; i < plan.sort.size(); ++i) {
    const std::string& f = plan.sort[i].field;
    if (f == "_score") c.keys.emplace_back(std::stod(keys.at(i)));
    else if (f == "dc.publicationYear" || f == "published") c.keys.emplace_back(std::stoll(keys.at(i)));
    else c.keys.emplace_back(keys.at(i));
  }
  return encode_cursor(c, plan.fingerprint);
}

}  // namespace beamflow::catalog::detail
