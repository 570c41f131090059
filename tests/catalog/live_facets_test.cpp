// SQLite schema version 9: live_entries.facets holds an entry's coded
// facet values only; the uncoded ones (fields past FacetCodes::kPerField
// values) stay in the entries row, which a terms facet on such a field
// reads (PlanOptions::uncoded_terms).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>
#include <vector>

#include "catalog/support/fixtures.hpp"
#include "jobs/catalog/backend_support.hpp"
#include "jobs/catalog/catalog.hpp"
#include "jobs/catalog/facet_codes.hpp"
#include "jobs/catalog/facet_values.hpp"
#include "jobs/catalog/sql_plan.hpp"
#include "support/expect_error.hpp"
#include "support/scratch_dir.hpp"

namespace beamflow::catalog::test {
namespace {

using beamflow::test::expect_error;
using beamflow::test::ScratchDir;

// One connection of its own to a catalog file, for what the interface hides.
class Raw {
 public:
  explicit Raw(const std::string& file) { sqlite3_open(file.c_str(), &m_db); }
  ~Raw() { sqlite3_close(m_db); }
  Raw(const Raw&) = delete;
  Raw& operator=(const Raw&) = delete;
  void exec(const std::string& sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(m_db, sql.c_str(), nullptr, nullptr, &err);
    EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "") << "\n" << sql;
    sqlite3_free(err);
  }
  long long integer(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(m_db, sql.c_str(), -1, &s, nullptr), SQLITE_OK) << sql;
    const long long v = s && sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_finalize(s);
    return v;
  }

 private:
  sqlite3* m_db = nullptr;
};

// Titles past the title field's codes sort first: the last entries'.
std::string title_of(std::size_t i) { return "Scan t" + std::to_string(90000 - i); }
const std::size_t kEntries = detail::FacetCodes::kPerField + 30;

// kEntries entries, each with a title of its own (the field fills its codes
// and the last 30 titles keep their hashes); entry i holds Fe, and Cu when
// i is a multiple of 3. Entry 7 waits for approval.
void fill(const std::string& file) {
  std::vector<Entry> es;
  for (std::size_t i = 0; i < kEntries; ++i) {
    Json c = metadata(title_of(i));
    c["domain"]["elements"] = i % 3 ? Json::array({"Fe"}) : Json::array({"Fe", "Cu"});
    es.push_back(entry("ark:/99999/lf" + std::to_string(i), c));
    if (i == 7) es.back().status = EntryStatus::Pending;
  }
  open_catalog("sqlite:" + file)->ingest(es);
}

// A search for "scan" faceted on the titles (5 buckets) and the elements,
// as "value:count ..." per facet, with the total.
std::string facets(Catalog& catalog) {
  const auto r = catalog.search(parse_query({{"q", "scan"},
                                             {"facets", {{{"field_name", "dc.titles.title"}, {"size", 5}},
                                                         {{"field_name", "domain.elements"}}}}}),
                                Identity{"bob", {}, false});
  std::string s = std::to_string(r.total);
  for (const auto& f : r.facets) {
    s += " |";
    for (const auto& b : f.buckets) s += " " + b.value.get<std::string>() + ":" + std::to_string(b.count);
  }
  return s;
}

// What the search above must give: every live title once, the 5 smallest
// (the last entries', uncoded) first; Fe on all, Cu on every third.
std::string expected_facets(std::size_t live, std::size_t cu) {
  std::string s = std::to_string(live) + " |";
  for (std::size_t i = kEntries - 1; i >= kEntries - 5; --i) s += " " + title_of(i) + ":1";
  return s + " | Fe:" + std::to_string(live) + " Cu:" + std::to_string(cu);
}

// Live entries holding no uncoded value (0, field hash, value hash): a
// coded-only column has no zero byte at all (a varint code of 1 or more
// ends in a nonzero byte, and its other bytes have the high bit set).
long long live_rows_with_uncoded_values(Raw& raw) {
  return raw.integer("SELECT count(*) FROM live_entries WHERE instr(facets, x'00') > 0");
}

TEST(SqliteLiveFacets, ALiveRowHoldsCodedValuesOnlyAndAFullFieldIsCountedFromItsEntry) {
  ScratchDir dir{"beamflow-catalog-"};
  const std::string file = (dir.path() / "catalog.sqlite").string();
  fill(file);
  const std::size_t cu = (kEntries + 2) / 3;  // entry 7, pending, is not a multiple of 3
  {
    auto catalog = open_catalog("sqlite:" + file);
    EXPECT_EQ(facets(*catalog), expected_facets(kEntries - 1, cu));
    // Publishing and withdrawing rewrite live rows through the triggers
    // (which copy the whole column: entry 7's title has a code).
    catalog->set_status("ark:/99999/lf7", 1, EntryStatus::Published, "", "olga");
    catalog->set_status("ark:/99999/lf" + std::to_string(kEntries - 1), 1, EntryStatus::Withdrawn, "", "olga");
    // Without the last entry the 5 smallest titles shift by one.
    std::string want = std::to_string(kEntries - 1) + " |";
    for (std::size_t i = kEntries - 2; i >= kEntries - 6; --i) want += " " + title_of(i) + ":1";
    want += " | Fe:" + std::to_string(kEntries - 1) + " Cu:" + std::to_string(cu - 1);  // the last is a multiple of 3
    EXPECT_EQ(facets(*catalog), want);
  }
  Raw raw(file);
  EXPECT_EQ(raw.integer("PRAGMA user_version"), 10);
  EXPECT_EQ(raw.integer("SELECT count(*) FROM live_entries"), static_cast<long long>(kEntries - 1));
  EXPECT_EQ(live_rows_with_uncoded_values(raw), 0);
  // The entries rows keep them: the last 30 titles.
  EXPECT_GE(raw.integer("SELECT count(*) FROM entries WHERE instr(facets, x'00') > 0"), 30);
  // A live row is its entry's column less the uncoded values (13 bytes each).
  EXPECT_EQ(raw.integer("SELECT count(*) FROM live_entries l JOIN entries e ON e.id = l.id "
                        "WHERE (length(e.facets) - length(l.facets)) % 13 = 0"),
            static_cast<long long>(kEntries - 1));
  EXPECT_EQ(raw.integer("SELECT count(*) FROM live_entries l JOIN entries e ON e.id = l.id "
                        "WHERE length(e.facets) > length(l.facets)"),
            29);  // the last 30 entries' titles, one of them withdrawn
}

// A version-8 catalog (live rows holding the whole column) has live_entries
// made again when opened; its searches count as before.
TEST(SqliteLiveFacets, AVersion8CatalogHasItsLiveRowsCodedOnlyWhenOpened) {
  ScratchDir dir{"beamflow-catalog-"};
  const std::string file = (dir.path() / "catalog.sqlite").string();
  fill(file);
  {
    Raw raw(file);
    raw.exec(
        "DROP TRIGGER live_entries_update; "
        "UPDATE live_entries SET facets = (SELECT facets FROM entries WHERE entries.id = live_entries.id); "
        "CREATE TRIGGER live_entries_update AFTER UPDATE ON entries BEGIN "
        "DELETE FROM live_entries WHERE id = old.id; DELETE FROM live_names WHERE id = old.id; "
        "INSERT INTO live_entries SELECT new.id, new.public, new.year, new.published_ms, new.facets, "
        "(SELECT sz FROM fts_docsize WHERE id = new.id) WHERE new.status = 'published' AND new.latest = 1; "
        "INSERT INTO live_names SELECT new.id, new.identifier, new.title "
        "WHERE new.status = 'published' AND new.latest = 1; END; PRAGMA user_version = 8;");
    EXPECT_GE(live_rows_with_uncoded_values(raw), 30);
  }
  const std::size_t cu = (kEntries + 2) / 3;
  for (int open = 0; open < 2; ++open) {  // converted, then opened as it is
    auto catalog = open_catalog("sqlite:" + file);
    EXPECT_EQ(facets(*catalog), expected_facets(kEntries - 1, cu));
  }
  Raw raw(file);
  EXPECT_EQ(raw.integer("PRAGMA user_version"), 10);
  EXPECT_EQ(raw.integer("SELECT count(*) FROM live_entries"), static_cast<long long>(kEntries - 1));
  EXPECT_EQ(live_rows_with_uncoded_values(raw), 0);
  EXPECT_EQ(raw.integer("SELECT count(*) FROM live_entries WHERE fts_size IS NULL"), 0);
}

// The coded values of a column, byte for byte, its uncoded ones left out;
// a column cut short is catalog.db.
TEST(SqliteLiveFacets, CodedValuesOnlyKeepsTheCodesOfAColumn) {
  detail::FacetCodes codes;
  auto value = [](const std::string& field, const std::string& text) {
    return detail::FacetValue{field_hash(field), field_value_hash(field, text)};
  };
  for (std::size_t i = 0; i <= detail::FacetCodes::kPerField; ++i) codes.give(value("f", "v" + std::to_string(i)));
  EXPECT_TRUE(codes.full(field_hash("f")));
  EXPECT_FALSE(codes.full(field_hash("g")));
  codes.give(value("g", "w"));
  const auto uncoded = value("f", "v" + std::to_string(detail::FacetCodes::kPerField));
  const std::string column = detail::code_facet_values({value("f", "v1"), value("f", "v200"), uncoded,
                                                        value("g", "w")}, codes);
  const std::string only = detail::coded_values_only(column, 1);
  EXPECT_EQ(only, detail::code_facet_values({value("f", "v1"), value("f", "v200"), value("g", "w")}, codes));
  EXPECT_EQ(only.size(), 1u + 2u + 2u);
  EXPECT_EQ(detail::coded_values_only(detail::code_facet_values({uncoded}, codes), 1), "");
  expect_error([&] { detail::coded_values_only(column.substr(0, 6), 5); }, "catalog.db");
}

// A terms facet names the buckets it keeps in one texts() call (one
// statement in PostgreSQL) however many counts tie among them, and asks for
// a later count only when a bucket cannot be named; the buckets are those
// a call a count gave.
TEST(TermsFacetNames, EveryKeptCountIsNamedInOneCall) {
  const Query q = parse_query({{"facets", {{{"field_name", "f"}, {"size", 3}}}}});
  // Counts a:3, b:2, c:2, d:1, e:1, f:1; entry 10 + k holds value k first.
  detail::TermsCounter counter(q.facets);
  const std::vector<std::pair<std::string, int>> counts{{"a", 3}, {"b", 2}, {"c", 2}, {"d", 1}, {"e", 1}, {"f", 1}};
  for (std::size_t k = 0; k < counts.size(); ++k)
    for (int n = 0; n < counts[k].second; ++n)
      counter.count(10 + static_cast<std::int64_t>(k) + 100 * n, field_hash("f"), field_value_hash("f", counts[k].first));
  std::vector<std::size_t> calls;  // the keys of each call
  std::string unnamed;             // a value whose entry names nothing
  const detail::FieldTexts texts = [&](const std::vector<detail::FieldKey>& keys) {
    calls.push_back(keys.size());
    std::map<detail::FieldKey, std::vector<std::string>> out;
    for (const auto& key : keys) {
      const auto& value = counts.at(static_cast<std::size_t>(key.second - 10)).first;
      if (value != unnamed) out[key] = {value};
    }
    return out;
  };
  auto shown = [&] {
    std::string s;
    for (const auto& b : counter.buckets(0, texts)) s += b.value.get<std::string>() + ":" + std::to_string(b.count) + " ";
    return s;
  };
  EXPECT_EQ(shown(), "a:3 b:2 c:2 ");
  EXPECT_EQ(calls, (std::vector<std::size_t>{3}));  // one call for a, b and c (was one a count: 1, 2)
  calls.clear();
  unnamed = "b";
  EXPECT_EQ(shown(), "a:3 c:2 d:1 ");
  EXPECT_EQ(calls, (std::vector<std::size_t>{3, 3}));  // then d, e and f, which tie
}

// A search names the buckets of all its terms facets in one texts() call
// (one statement in PostgreSQL, where each facet took one), and they are
// the buckets each facet alone names.
TEST(TermsFacetNames, EveryFacetOfASearchIsNamedInOneCall) {
  const Query q = parse_query({{"q", "x"},
                               {"facets", {{{"field_name", "f"}, {"size", 2}}, {{"field_name", "g"}, {"size", 2}}}}});
  const SearchPlan plan = plan_search(q, Identity{"u", {}, false}, Dialect::Postgres);
  detail::SearchRows rows(q, plan);
  // Entry k holds f = "f" + k and g = "g" + (k % 2): counts f1..f3 one
  // each, g0:1, g1:2.
  auto text_of = [](const detail::FieldKey& key) { return key.first + std::to_string(key.first == "f" ? key.second : key.second % 2); };
  for (std::int64_t k = 1; k <= 3; ++k) {
    IndexTerms terms;
    for (const std::string field : {"f", "g"}) terms.fields.push_back({field, text_of({field, k})});
    rows.add_facet_values(k, detail::pack_facet_values(terms));
  }
  std::vector<std::vector<detail::FieldKey>> calls;
  const detail::FieldTexts texts = [&](const std::vector<detail::FieldKey>& keys) {
    calls.push_back(keys);
    std::map<detail::FieldKey, std::vector<std::string>> out;
    for (const auto& key : keys) out[key] = {text_of(key)};
    return out;
  };
  SearchResult result;
  rows.finish(result, texts);
  ASSERT_EQ(calls.size(), 1u);  // was one a facet
  EXPECT_EQ(calls[0].size(), 3u + 2u);  // the three f values tie; both g counts
  auto shown = [](const FacetResult& f) {
    std::string s;
    for (const auto& b : f.buckets) s += b.value.get<std::string>() + ":" + std::to_string(b.count) + " ";
    return s;
  };
  ASSERT_EQ(result.facets.size(), 2u);
  EXPECT_EQ(shown(result.facets[0]), "f1:1 f2:1 ");
  EXPECT_EQ(shown(result.facets[1]), "g1:2 g0:1 ");
}

}  // namespace
}  // namespace beamflow::catalog::test
