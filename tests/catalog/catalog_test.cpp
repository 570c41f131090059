// The catalog suite, written once and run against both backends (SQLite
// and a real PostgreSQL server the suite starts): publish, verify, versions,
// withdraw, curation, search (free text, filters, every facet kind, cursor
// pagination past 10,000) and visibility down to the facet counts.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <map>
#include <set>
#include <thread>
#include <type_traits>

#include "catalog/support/backends.hpp"
#include "catalog/support/fixtures.hpp"
#include "jobs/catalog/backend_support.hpp"
#include "jobs/catalog/facet_codes.hpp"
#include "jobs/catalog/datasets.hpp"
#include "jobs/catalog/fts_rank.hpp"
#include "jobs/catalog/settings.hpp"
#include "support/expect_error.hpp"
#include "support/scratch_dir.hpp"

namespace beamflow::catalog::test {
namespace {

using beamflow::test::expect_error;
using beamflow::test::ScratchDir;

Identity user(const std::string& name, std::vector<std::string> groups = {}) { return Identity{name, std::move(groups), false}; }

template <class Backend>
class CatalogSuite : public ::testing::Test {
 public:
  void SetUp() override {
    if (auto why = Backend::unavailable()) GTEST_SKIP() << Backend::name << " unavailable: " << *why;
    m_catalog = Backend::open_fresh(m_dir.path());
    m_datasets = std::make_unique<Datasets>(*m_catalog, m_dir.path() / "storage");
  }
  std::filesystem::path source(const std::string& name, const std::vector<std::pair<std::string, std::string>>& files) {
    const auto dir = m_dir.path() / name;
    for (const auto& [path, text] : files) {
      std::filesystem::create_directories((dir / path).parent_path());
      std::ofstream(dir / path, std::ios::binary) << text;
    }
    return dir;
  }
  Entry publish(const std::string& name, Json meta, std::vector<std::string> visible = {"public"},
                const std::string& identifier = "", const Identity& who = user("alice")) {
    PublishRequest r;
    r.source = source(name, {{"a.txt", "alpha " + name}, {"sub/b.bin", std::string(1000, 'b')}});
    r.metadata = std::move(meta);
    r.visible_to = std::move(visible);
    r.identifier = identifier;
    return m_datasets->publish(r, who);
  }
  std::vector<std::string> ids(const SearchResult& r) {
    std::vector<std::string> out;
    for (const auto& h : r.hits) out.push_back(h.entry.identifier);
    return out;
  }
  SearchResult search(const Json& q, const Identity& who = user("alice")) {
    return m_datasets->search(parse_query(q), who);
  }
  void ingest(std::vector<Entry> entries) { m_catalog->ingest(entries); }
  // Opens the catalog in m_dir again (an older layout is converted then),
  // with a Datasets over it.
  void reopen() {
    m_datasets.reset();
    m_catalog = open_catalog(Backend::location(m_dir.path()));
    m_datasets = std::make_unique<Datasets>(*m_catalog, m_dir.path() / "storage");
  }

  ScratchDir m_dir{"beamflow-catalog-"};
  std::unique_ptr<Catalog> m_catalog;
  std::unique_ptr<Datasets> m_datasets;
};

TYPED_TEST_SUITE(CatalogSuite, Backends, BackendNames);

TYPED_TEST(CatalogSuite, PublishWritesABagAndVerifyDetectsAFlippedByte) {
  const Entry e = this->publish("scan", metadata());
  EXPECT_EQ(e.version, 1);
  EXPECT_EQ(e.status, EntryStatus::Published);
  EXPECT_EQ(e.files, 2u);
  EXPECT_EQ(e.identifier.rfind("ark:/99999/bf", 0), 0u) << e.identifier;
  for (const char* f : {"bagit.txt", "bag-info.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt", "data/a.txt", "data/sub/b.bin"})
    EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(e.location) / f)) << f;

  const Entry d = this->m_datasets->describe(e.identifier, 0, user("bob"));
  EXPECT_EQ(d.content["dc"]["identifier"]["identifier"], e.identifier);
  EXPECT_EQ(d.content["dc"]["version"], "1");
  EXPECT_TRUE(this->m_datasets->verify(e.identifier, 0, user("bob")).problems.empty());

  {
    std::fstream f(std::filesystem::path(e.location) / "data/sub/b.bin", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(500);
    f.put('X');
  }
  const auto report = this->m_datasets->verify(e.identifier, 0, user("bob"));
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_EQ(report.problems[0].path, "data/sub/b.bin");
  EXPECT_NE(report.problems[0].what.find("sha256 mismatch"), std::string::npos);
}

TYPED_TEST(CatalogSuite, VerifyReportsMissingExtraAndTamperedManifest) {
  const Entry e = this->publish("scan", metadata());
  const std::filesystem::path bag = e.location;
  std::filesystem::remove(bag / "data/a.txt");
  std::ofstream(bag / "data/extra.txt") << "x";
  std::ofstream(bag / "manifest-sha256.txt", std::ios::app) << std::string(64, 'a') << "  data/ghost\n";
  std::set<std::string> paths;
  for (const auto& p : this->m_datasets->verify(e.identifier, 1, user("alice")).problems) paths.insert(p.path);
  for (const char* p : {"data/a.txt", "data/extra.txt", "manifest-sha256.txt", "data/ghost"}) EXPECT_TRUE(paths.count(p)) << p;
}

TYPED_TEST(CatalogSuite, PublishingAgainUnderTheIdentifierMakesANewVersion) {
  const Entry v1 = this->publish("v1", metadata("Old title"));
  const Entry v2 = this->publish("v2", metadata("New title"), {"public"}, v1.identifier);
  EXPECT_EQ(v2.identifier, v1.identifier);
  EXPECT_EQ(v2.version, 2);
  EXPECT_NE(v2.location, v1.location);
  EXPECT_EQ(this->m_datasets->describe(v1.identifier, 0, user("bob")).version, 2);
  EXPECT_EQ(this->m_datasets->describe(v1.identifier, 1, user("bob")).content["dc"]["titles"][0]["title"], "Old title");
  EXPECT_TRUE(this->m_datasets->verify(v1.identifier, 1, user("bob")).problems.empty());
  // Search shows the latest version only.
  auto r = this->search({{"q", "title"}});
  ASSERT_EQ(r.hits.size(), 1u);
  EXPECT_EQ(r.hits[0].entry.version, 2);
  // Only the owner (or a curator) may add a version.
  expect_error([&] { this->publish("v3", metadata(), {"public"}, v1.identifier, user("mallory")); },
               "dataset.not_allowed", {v1.identifier});
  expect_error([&] { this->publish("v4", metadata(), {"public"}, "ark:/99999/zz12345"); }, "dataset.not_found",
               {"never published"});
}

TYPED_TEST(CatalogSuite, MintedIdentifiersAreNeverReused) {
  std::set<std::string> seen;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(seen.insert(this->publish("s" + std::to_string(i), metadata()).identifier).second);
  // A mint whose publish then fails still consumes its number.
  expect_error([&] {
    PublishRequest r;
    r.source = this->m_dir.path() / "missing";
    r.metadata = metadata();
    this->m_datasets->publish(r, user("alice"));
  }, "dataset.source", {"missing"});
  const auto n = this->m_catalog->next_sequence("ark:/99999/bf");
  EXPECT_EQ(n, 4);  // 3 published, the refused one never minted (checked before minting)
  EXPECT_TRUE(seen.insert(this->publish("s9", metadata()).identifier).second);
}

TYPED_TEST(CatalogSuite, WithdrawHidesFromSearchAndLeavesATombstone) {
  const Entry e = this->publish("scan", metadata());
  expect_error([&] { this->m_datasets->withdraw(e.identifier, 0, "", user("alice")); }, "dataset.invalid_request",
               {"reason"});
  expect_error([&] { this->m_datasets->withdraw(e.identifier, 0, "mine now", user("bob")); }, "dataset.not_allowed");
  this->m_datasets->withdraw(e.identifier, 0, "sample mislabelled", user("alice"));
  EXPECT_TRUE(this->search({{"q", "steel"}}).hits.empty());
  const Entry t = this->m_datasets->describe(e.identifier, 0, user("bob"));
  EXPECT_EQ(t.status, EntryStatus::Withdrawn);
  EXPECT_EQ(t.reason, "sample mislabelled");
  EXPECT_FALSE(t.content["dc"].contains("creators"));
  expect_error([&] { this->m_datasets->verify(e.identifier, 0, user("bob")); }, "dataset.withdrawn", {"mislabelled"});
}

TYPED_TEST(CatalogSuite, CurationKeepsAnEntryHiddenUntilApproved) {
  this->m_datasets->put_collection({"mdf", Json(), true, {"group:curators"}}, Identity{"root", {}, true});
  PublishRequest r;
  r.source = this->source("scan", {{"a", "1"}});
  r.metadata = metadata();
  r.collection = "mdf";
  r.visible_to = {"public"};
  const Entry e = this->m_datasets->publish(r, user("alice"));
  EXPECT_EQ(e.status, EntryStatus::Pending);
  EXPECT_TRUE(this->search({{"q", "steel"}}, user("bob")).hits.empty());
  expect_error([&] { this->m_datasets->describe(e.identifier, 0, user("bob")); }, "dataset.not_found");
  ASSERT_EQ(this->m_datasets->pending(user("carol", {"curators"})).size(), 1u);
  // Not even told it exists; its owner sees it but may not approve it.
  expect_error([&] { this->m_datasets->decide(e.identifier, 0, true, "", user("bob")); }, "dataset.not_found");
  expect_error([&] { this->m_datasets->decide(e.identifier, 0, true, "", user("alice")); }, "dataset.not_allowed",
               {"curator"});
  this->m_datasets->decide(e.identifier, 0, true, "", user("carol", {"curators"}));
  EXPECT_EQ(this->search({{"q", "steel"}}, user("bob")).hits.size(), 1u);
  expect_error([&] { this->m_datasets->decide(e.identifier, 1, false, "late", user("carol", {"curators"})); },
               "dataset.state", {"published", "carol"});
}

TYPED_TEST(CatalogSuite, CollectionSchemaIsEnforcedOnDomainMetadata) {
  const Json schema = {{"type", "object"},
                       {"required", {"elements"}},
                       {"properties",
                        {{"elements", {{"type", "array"}, {"items", {{"type", "string"}, {"pattern", "^[A-Z][a-z]?$"}}}}},
                         {"space_group", {{"type", "integer"}, {"minimum", 1}, {"maximum", 230}}}}}};
  this->m_datasets->put_collection({"materials", schema, false, {}}, Identity{"root", {}, true});
  auto attempt = [&](Json domain) {
    PublishRequest r;
    r.source = this->source("x", {{"a", "1"}});
    r.metadata = metadata();
    r.metadata["domain"] = std::move(domain);
    r.collection = "materials";
    this->m_datasets->publish(r, user("alice"));
  };
  expect_error([&] { attempt({{"space_group", 12}}); }, "dataset.metadata.schema", {"domain/elements", "required"});
  expect_error([&] { attempt({{"elements", {"Fe", "xx"}}}); }, "dataset.metadata.schema", {"domain/elements/1"});
  expect_error([&] { attempt({{"elements", {"Fe"}}, {"space_group", 231}}); }, "dataset.metadata.schema",
               {"domain/space_group", "maximum"});
  expect_error([&] { this->m_datasets->put_collection({"bad", {{"typo", 1}}, false, {}}, Identity{"root", {}, true}); },
               "catalog.collection.schema", {"typo"});
  expect_error([&] { this->m_datasets->put_collection({"materials", Json(), false, {}}, user("bob")); },
               "dataset.not_allowed");
  // Nothing half-written: no entry, no bag.
  EXPECT_TRUE(this->search({{"q", "steel"}}).hits.empty());
  EXPECT_FALSE(std::filesystem::exists(this->m_dir.path() / "storage"));
}

// Eight entries with known metadata for the search tests.
template <class Suite>
void ingest_corpus(Suite& s) {
  std::vector<Entry> es;
  const struct {
    const char* id;
    const char* title;
    int year;
    std::vector<std::string> elements;
    double energy;
    const char* date;
  } rows[] = {
      {"ark:/99999/t1", "Steel fatigue cracks", 2019, {"Fe", "C"}, 25, "2019-03-02"},
      {"ark:/99999/t2", "Steel weld porosity", 2021, {"Fe", "Ni"}, 35, "2021-07-14"},
      {"ark:/99999/t3", "Battery cathode tomography", 2021, {"Li", "Co", "O"}, 20, "2021-08-01"},
      {"ark:/99999/t4", "Battery anode swelling", 2022, {"Li", "C"}, 18, "2022-01-20"},
      {"ark:/99999/t5", "Concrete cracks under load", 2023, {"Ca", "Si", "O"}, 60, "2023-05-05"},
      {"ark:/99999/t6", "Titanium lattice implant", 2024, {"Ti", "Al", "V"}, 45, "2024-02-29"},
      {"ark:/99999/t7", "Tomography of tomography phantoms tomography", 2024, {"Al"}, 30, "2024-11-11"},
      {"ark:/99999/t8", "Nickel superalloy creep", 2025, {"Ni", "Cr", "Fe"}, 55, "2025-06-30"},
  };
  for (const auto& r : rows) {
    Json c = metadata(r.title, r.year);
    c["dc"]["dates"] = {{{"date", r.date}, {"dateType", "Collected"}}};
    c["dc"]["descriptions"] = Json::array();
    c["dc"]["subjects"] = Json::array();
    c["dc"]["types"] = {{"resourceTypeGeneral", "Dataset"}};
    c["domain"] = {{"elements", r.elements}, {"energy_kev", r.energy}, {"beamline", r.year < 2022 ? "2-BM" : "32-ID"}};
    es.push_back(entry(r.id, c));
  }
  s.ingest(es);
}

TYPED_TEST(CatalogSuite, FreeTextMatchesEveryWordAndRanks) {
  ingest_corpus(*this);
  EXPECT_EQ(this->ids(this->search({{"q", "steel"}, {"sort", {{{"field_name", "identifier"}}}}})),
            (std::vector<std::string>{"ark:/99999/t1", "ark:/99999/t2"}));
  EXPECT_EQ(this->ids(this->search({{"q", "steel cracks"}})), (std::vector<std::string>{"ark:/99999/t1"}));
  EXPECT_EQ(this->ids(this->search({{"q", "BATTERY, anode!"}})), (std::vector<std::string>{"ark:/99999/t4"}));
  EXPECT_EQ(this->search({{"q", "batt*"}}).total, 2);
  EXPECT_EQ(this->search({{"q", "nothing-like-this"}}).total, 0);
  // Three mentions in the title beat one.
  const auto r = this->search({{"q", "tomography"}});
  ASSERT_EQ(r.hits.size(), 2u);
  EXPECT_EQ(r.hits[0].entry.identifier, "ark:/99999/t7");
  EXPECT_GT(r.hits[0].score, r.hits[1].score);
  // Domain values are text too.
  EXPECT_EQ(this->ids(this->search({{"q", "32-ID Ti"}})), (std::vector<std::string>{"ark:/99999/t6"}));
}

TYPED_TEST(CatalogSuite, FiltersExactPrefixRangesAndMatchAllAny) {
  ingest_corpus(*this);
  auto q = [&](Json filters) {
    auto r = this->search({{"filters", filters}, {"sort", {{{"field_name", "identifier"}}}}, {"limit", 100}});
    std::string s;
    for (const auto& id : this->ids(r)) s += id.substr(11);
    return s;
  };
  EXPECT_EQ(q({{{"type", "match_any"}, {"field_name", "domain.elements"}, {"values", {"Li", "Ti"}}}}), "t3t4t6");
  EXPECT_EQ(q({{{"type", "match_all"}, {"field_name", "domain.elements"}, {"values", {"Fe", "Ni"}}}}), "t2t8");
  EXPECT_EQ(q({{{"field_name", "domain.beamline"}, {"values", {"2-BM"}}}}), "t1t2t3");
  EXPECT_EQ(q({{{"type", "like"}, {"field_name", "dc.titles.title"}, {"value", "Bat*"}}}), "t3t4");
  EXPECT_EQ(q({{{"type", "like"}, {"field_name", "dc.titles.title"}, {"value", "*cracks*"}}}), "t1t5");
  EXPECT_EQ(q({{{"type", "like"}, {"field_name", "dc.titles.title"}, {"value", "steel*"}}}), "");  // case-sensitive
  EXPECT_EQ(q({{{"type", "range"}, {"field_name", "domain.energy_kev"}, {"values", {{{"from", 30}, {"to", 50}}}}}}),
            "t2t6t7");
  EXPECT_EQ(q({{{"type", "range"}, {"field_name", "dc.publicationYear"}, {"values", {{{"from", 2024}, {"to", "*"}}}}}}),
            "t6t7t8");
  EXPECT_EQ(q({{{"type", "range"}, {"field_name", "dc.dates.date"}, {"values", {{{"from", "2021-07-15"}, {"to", "2022"}}}}}}),
            "t3t4");
  EXPECT_EQ(q({{{"type", "range"}, {"field_name", "dc.dates.date"}, {"values", {{{"from", "2024-02"}, {"to", "2024-02"}}}}}}),
            "t6");
  // Filters combine with AND, and with free text.
  EXPECT_EQ(q({{{"field_name", "domain.elements"}, {"values", {"Fe"}}},
               {{"type", "range"}, {"field_name", "dc.publicationYear"}, {"values", {{{"from", 2020}}}}}}),
            "t2t8");
  EXPECT_EQ(this->ids(this->search({{"q", "steel"}, {"filters", {{{"field_name", "domain.elements"}, {"values", {"Ni"}}}}}})),
            (std::vector<std::string>{"ark:/99999/t2"}));
}

// Schema version 4 keeps field rows for numbers and dates only: a
// wildcard filter on a text value reads it from the entry's content, with
// what its row held before: strings of at most 256 bytes and booleans,
// under dotted keys with arrays unwrapped at any depth, ? one character
// (not one byte), case-sensitive, every other character literal; the
// catalog's identifier, collection and owner are columns. The same answers
// whether the free text narrows the search or every live entry is read.
TYPED_TEST(CatalogSuite, WildcardFiltersOnTextReadTheContent) {
  std::vector<Entry> es;
  auto add = [&](const char* id, Json domain) {
    Json c = metadata("Wild card scan");
    c["domain"] = std::move(domain);
    es.push_back(entry(id, c));
  };
  add("ark:/99999/w1", {{"elements", {"Fe", "Ni"}}, {"sample", {{"name", "M\u00fcller alloy"}}}, {"cooled", true},
                        {"notes", std::string(300, 'z')}, {"a.b", "dotted"}, {"grid", {{"Fe-1", "x"}, {"y"}}}});
  add("ark:/99999/w2", {{"elements", {"Nb"}}, {"sample", {{"name", "bracket[1]"}}}, {"cooled", false},
                        {"notes", "zz short"}, {"a", {{"b", "nested"}}}, {"grid", "Fe-2"}});
  add("ark:/99999/v3", {{"elements", {"Cu"}}, {"sample", {{"name", "MAller"}}}});
  this->ingest(es);
  auto q = [&](const std::string& field, const std::string& pattern) {
    std::string both[2];
    for (int narrowed = 0; narrowed < 2; ++narrowed) {
      Json query = {{"filters", {{{"type", "like"}, {"field_name", field}, {"value", pattern}}}},
                    {"sort", {{{"field_name", "identifier"}}}}};
      if (narrowed) query["q"] = "wild";
      for (const auto& id : this->ids(this->search(query))) both[narrowed] += id.substr(11);
    }
    EXPECT_EQ(both[0], both[1]) << field << " " << pattern;
    return both[0];
  };
  EXPECT_EQ(q("domain.elements", "N?"), "w1w2");
  EXPECT_EQ(q("domain.elements", "n*"), "");
  EXPECT_EQ(q("domain.sample.name", "M?ller*"), "v3w1");  // u-umlaut is one character, two bytes
  EXPECT_EQ(q("domain.sample.name", "bracket[1]"), "w2");
  EXPECT_EQ(q("domain.sample.name", "bracket1"), "");
  EXPECT_EQ(q("domain.cooled", "t*"), "w1");
  EXPECT_EQ(q("domain.cooled", "false"), "w2");
  EXPECT_EQ(q("domain.notes", "zz*"), "w2");  // 300 characters: free text only, as before
  EXPECT_EQ(q("domain.a.b", "*e*"), "w1w2");   // a key holding a dot, and nested keys
  EXPECT_EQ(q("domain.grid", "Fe-?"), "w1w2");  // arrays in arrays
  EXPECT_EQ(q("domain", "*"), "");
  EXPECT_EQ(q("identifier", "ark:/99999/w?"), "w1w2");
  EXPECT_EQ(q("collection", "def*"), "v3w1w2");
  EXPECT_EQ(q("dc.publicationYear", "20?6"), "v3w1w2");  // numbers and dates keep their rows
  EXPECT_EQ(q("published", "2*"), "v3w1w2");
}

// Exact filters are matched by their 64-bit hash token; the entries a
// search returns are checked against their content. Here one entry is
// given the token of a value it does not hold (what a hash collision
// would do): it is counted but never returned.
TYPED_TEST(CatalogSuite, AnExactFilterHashCollisionNeverReturnsAWrongEntry) {
  ingest_corpus(*this);
  const std::string token = filter_token("domain.beamline", "7-BM");
  const Entry t1 = this->m_catalog->versions("ark:/99999/t1").at(0);
  if constexpr (std::is_same_v<TypeParam, SqliteBackend>) {
    const IndexTerms terms = index_terms(t1);
    std::vector<detail::FieldRow> rows;
    const std::string tags = detail::add_field_rows(t1.row, terms, "", rows);
    auto quoted = [](const std::string& v) {
      std::string out = "'";
      for (char c : v) out += c == '\'' ? std::string("''") : std::string(1, c);
      return out + "'";
    };
    TypeParam::exec(this->m_dir.path(),
                    "INSERT INTO fts(fts, rowid, body, tags) VALUES ('delete', " + std::to_string(t1.row) + ", " +
                        quoted(terms.text) + ", " + quoted(tags) + "); INSERT INTO fts(rowid, body, tags) VALUES (" +
                        std::to_string(t1.row) + ", " + quoted(terms.text) + ", " + quoted(tags + " " + token) + ")");
  } else {
    TypeParam::exec(this->m_dir.path(),
                    "UPDATE live_entries SET tags = tags || " +
                        std::to_string(static_cast<std::int64_t>(field_value_hash("domain.beamline", "7-BM"))) +
                        "::bigint WHERE id = " + std::to_string(t1.row));
  }
  const auto r = this->search({{"filters", {{{"field_name", "domain.beamline"}, {"values", {"7-BM"}}}}}});
  EXPECT_EQ(r.total, 1);  // counted by the hash
  EXPECT_TRUE(r.hits.empty());
  // Its other values still find it.
  EXPECT_EQ(this->ids(this->search({{"filters", {{{"field_name", "domain.beamline"}, {"values", {"2-BM", "7-BM"}}}}},
                                    {"sort", {{{"field_name", "identifier"}}}}})),
            (std::vector<std::string>{"ark:/99999/t1", "ark:/99999/t2", "ark:/99999/t3"}));
}

TYPED_TEST(CatalogSuite, FacetsTermsNumericAndDateHistograms) {
  ingest_corpus(*this);
  const auto r = this->search(
      {{"facets",
        {{{"type", "terms"}, {"field_name", "domain.elements"}, {"size", 3}},
         {{"type", "numeric_histogram"}, {"field_name", "domain.energy_kev"}, {"size", 3}, {"histogram_range", {{"low", 0}, {"high", 60}}}},
         {{"type", "date_histogram"}, {"field_name", "dc.dates.date"}, {"date_interval", "year"}},
         {{"type", "date_histogram"}, {"name", "months"}, {"field_name", "dc.dates.date"}, {"date_interval", "month"}}}}});
  ASSERT_EQ(r.facets.size(), 4u);
  const Json g = to_gmeta(r)["facet_results"];
  EXPECT_EQ(g[0]["buckets"], Json::parse(R"([{"value":"Fe","count":3},{"value":"Al","count":2},{"value":"C","count":2}])"));
  EXPECT_EQ(g[1]["buckets"], Json::parse(R"([{"value":{"from":0.0,"to":20.0},"count":1},{"value":{"from":20.0,"to":40.0},"count":4},{"value":{"from":40.0,"to":60.0},"count":2}])"));
  EXPECT_EQ(g[2]["buckets"], Json::parse(R"([{"value":"2019","count":1},{"value":"2021","count":2},{"value":"2022","count":1},{"value":"2023","count":1},{"value":"2024","count":2},{"value":"2025","count":1}])"));
  EXPECT_EQ(g[3]["name"], "months");
  EXPECT_EQ(g[3]["buckets"][0], Json::parse(R"({"value":"2019-03","count":1})"));
  // Facets follow the query.
  const auto steel = this->search({{"q", "steel"}, {"facets", {{{"field_name", "domain.elements"}}}}});
  EXPECT_EQ(to_gmeta(steel)["facet_results"][0]["buckets"],
            Json::parse(R"([{"value":"Fe","count":2},{"value":"C","count":1},{"value":"Ni","count":1}])"));
}

// A "Shared scan" entry with one element, visible to `vis` (and its owner).
Entry shared_scan(const char* id, const char* element, std::vector<std::string> vis, const char* owner = "olga") {
  Json c = metadata("Shared scan");
  c["domain"] = {{"elements", {element}}};
  return entry(id, c, std::move(vis), owner);
}

TYPED_TEST(CatalogSuite, VisibilityAppliesToHitsDescribeAndFacetCounts) {
  this->ingest({shared_scan("ark:/99999/pub", "Fe", {"public"}), shared_scan("ark:/99999/alice", "Ni", {"user:alice"}),
                shared_scan("ark:/99999/xray", "Ni", {"group:xray"}),
                shared_scan("ark:/99999/bobs", "Cu", {}, "bob")});  // the owner only
  auto seen = [&](const Identity& who) {
    const auto r = this->search({{"q", "shared"}, {"facets", {{{"field_name", "domain.elements"}}}},
                                 {"sort", {{{"field_name", "identifier"}}}}},
                                who);
    std::string s;
    for (const auto& id : this->ids(r)) s += id.substr(11) + " ";
    s += "|";
    for (const auto& b : r.facets[0].buckets) s += " " + b.value.template get<std::string>() + "=" + std::to_string(b.count);
    EXPECT_EQ(r.total, static_cast<std::int64_t>(r.hits.size()));
    return s;
  };
  EXPECT_EQ(seen(user("alice")), "alice pub | Fe=1 Ni=1");
  EXPECT_EQ(seen(user("bob", {"xray"})), "bobs pub xray | Cu=1 Fe=1 Ni=1");
  EXPECT_EQ(seen(user("carol", {"staff"})), "pub | Fe=1");
  EXPECT_EQ(seen(Identity{"", {}, false}), "pub | Fe=1");
  EXPECT_EQ(seen(user("dave", {"xray"})), "pub xray | Fe=1 Ni=1");
  EXPECT_EQ(seen(Identity{"root", {}, true}), "alice bobs pub xray | Ni=2 Cu=1 Fe=1");
  expect_error([&] { this->m_datasets->describe("ark:/99999/alice", 0, user("carol")); }, "dataset.not_found");
  EXPECT_EQ(this->m_datasets->describe("ark:/99999/alice", 0, user("alice")).identifier, "ark:/99999/alice");
  EXPECT_EQ(this->m_datasets->describe("ark:/99999/xray", 0, user("x", {"xray"})).identifier, "ark:/99999/xray");
}

// What each of seven identities finds of the "Shared scan" entries (hits,
// total and element counts of one search), then what describe gives it of
// each version of `versions` (identifier:version, or the error's id).
const std::vector<Identity>& seven_identities() {
  static const std::vector<Identity> who{user("alice"), user("bob", {"xray"}), user("zed"), user("olga"),
                                         user("carol", {"staff"}), Identity{"", {}, false}, Identity{"root", {}, true}};
  return who;
}

template <class Suite>
std::string shared_scans_found(Suite& s) {
  std::string out;
  for (const Identity& who : seven_identities()) {
    const auto r = s.search({{"q", "shared"}, {"facets", {{{"field_name", "domain.elements"}}}},
                             {"sort", {{{"field_name", "identifier"}}}}},
                            who);
    for (const auto& id : s.ids(r)) out += id.substr(11) + " ";
    out += "|";
    for (const auto& b : r.facets[0].buckets) out += " " + b.value.template get<std::string>() + "=" + std::to_string(b.count);
    out += " total " + std::to_string(r.total) + "\n";
  }
  return out;
}

template <class Suite>
std::string shared_scans_described(Suite& s, const std::vector<std::pair<std::string, int>>& versions) {
  std::string out;
  for (const Identity& who : seven_identities()) {
    for (const auto& [id, v] : versions) {
      try {
        const Entry e = s.m_datasets->describe(id, v, who);
        out += e.identifier.substr(11) + ":" + std::to_string(e.version) + " ";
      } catch (const Error& e) {
        out += e.id() + " ";
      }
    }
    out += "\n";
  }
  return out;
}

// The visibility table PostgreSQL catalogs had up to schema version 10,
// with the rows those versions wrote: each entry that is not public, once
// for each of its principals (visible_to and its owner).
constexpr const char* kPostgresVisibilityRows =
    "CREATE TABLE visibility(principal TEXT NOT NULL, entry BIGINT NOT NULL, PRIMARY KEY(entry, principal)); "
    "CREATE INDEX visibility_principal ON visibility(principal, entry); "
    "INSERT INTO visibility SELECT DISTINCT x.p, e.id FROM entries e CROSS JOIN LATERAL ("
    "SELECT jsonb_array_elements_text(e.visible_to::jsonb) UNION SELECT 'user:' || e.owner WHERE e.owner <> '') x(p) "
    "WHERE e.public = 0; ";

// Fails (the DO block raises) unless the catalog is at `version` and has
// no visibility table.
std::string at_version_without_visibility(int version) {
  return "DO $$ BEGIN IF (SELECT value FROM catalog_meta WHERE name = 'schema_version') <> " + std::to_string(version) +
         " OR to_regclass('visibility') IS NOT NULL THEN RAISE EXCEPTION 'not version " + std::to_string(version) +
         " without visibility'; END IF; END $$";
}

// PostgreSQL schema version 10: a live row carries its entry's principals
// (visible_to and the owner, sorted; none for a public entry), and searches
// check visibility there. A version-9 catalog (no principals column) has it
// filled from its visibility rows when opened: every identity sees what it
// saw, down to the facet counts.
TYPED_TEST(CatalogSuite, PostgresLiveRowsCarryTheirPrincipalsAndAVersion9CatalogGetsThem) {
  if constexpr (std::is_same_v<TypeParam, SqliteBackend>) {
    GTEST_SKIP() << "PostgreSQL's layout";
  } else {
    this->ingest({shared_scan("ark:/99999/pub", "Fe", {"public"}), shared_scan("ark:/99999/alice", "Ni", {"user:alice"}),
                  shared_scan("ark:/99999/xray", "Ni", {"group:xray", "user:zed"}),
                  shared_scan("ark:/99999/bobs", "Cu", {}, "bob")});
    this->m_catalog->set_status("ark:/99999/xray", 1, EntryStatus::Withdrawn, "check", "olga");
    this->m_catalog->set_status("ark:/99999/xray", 1, EntryStatus::Published, "", "olga");
    const std::string before = shared_scans_found(*this);
    EXPECT_EQ(before,
              "alice pub | Fe=1 Ni=1 total 2\n"
              "bobs pub xray | Cu=1 Fe=1 Ni=1 total 3\n"
              "pub xray | Fe=1 Ni=1 total 2\n"
              "alice pub xray | Ni=2 Fe=1 total 3\n"
              "pub | Fe=1 total 1\n"
              "pub | Fe=1 total 1\n"
              "alice bobs pub xray | Ni=2 Cu=1 Fe=1 total 4\n");
    const char* kPrincipalsAre =
        "DO $$ BEGIN IF (SELECT string_agg(substr(e.identifier, 12) || '=' || array_to_string(l.principals, ','), ' ' "
        "ORDER BY e.identifier) FROM live_entries l JOIN entries e USING (id)) IS DISTINCT FROM "
        "'alice=user:alice,user:olga bobs=user:bob pub= xray=group:xray,user:olga,user:zed' "
        "THEN RAISE EXCEPTION 'other principals'; END IF; END $$";
    TypeParam::exec(this->m_dir.path(), kPrincipalsAre);
    this->m_datasets.reset();
    this->m_catalog.reset();
    // Version 9: no principals column; the visibility rows as it wrote them.
    TypeParam::exec(this->m_dir.path(), std::string(kPostgresVisibilityRows) +
                                            "ALTER TABLE live_entries DROP COLUMN principals; "
                                            "UPDATE catalog_meta SET value = 9 WHERE name = 'schema_version'");
    for (int open = 0; open < 2; ++open) {  // converted, then opened as it is
      this->reopen();
      EXPECT_EQ(shared_scans_found(*this), before);
    }
    TypeParam::exec(this->m_dir.path(), kPrincipalsAre);
    TypeParam::exec(this->m_dir.path(), at_version_without_visibility(11));
  }
}

// PostgreSQL schema version 11: no visibility table (nothing has read it
// since version 10; ingest wrote a row of it and two index entries for each
// principal of an entry that is not public). A new catalog has none, its
// ingests and status changes write none, and a version-10 catalog has it
// dropped when opened: every identity finds, counts and describes what it
// did, every version of every entry.
TYPED_TEST(CatalogSuite, PostgresCatalogsKeepNoVisibilityTableAndAVersion10CatalogDropsIt) {
  if constexpr (std::is_same_v<TypeParam, SqliteBackend>) {
    GTEST_SKIP() << "PostgreSQL's layout";
  } else {
    Entry alice2 = shared_scan("ark:/99999/alice", "Cu", {"group:xray"});
    alice2.version = 2;
    Entry pending = shared_scan("ark:/99999/xray", "Zn", {"user:carol"});
    pending.version = 2;
    pending.status = EntryStatus::Pending;
    this->ingest({shared_scan("ark:/99999/pub", "Fe", {"public"}), shared_scan("ark:/99999/alice", "Ni", {"user:alice"}),
                  shared_scan("ark:/99999/xray", "Ni", {"group:xray", "user:zed"}),
                  shared_scan("ark:/99999/bobs", "Cu", {}, "bob"), shared_scan("ark:/99999/gone", "Fe", {"user:zed"})});
    this->ingest({alice2, pending});
    this->m_catalog->set_status("ark:/99999/gone", 1, EntryStatus::Withdrawn, "check", "olga");
    this->m_catalog->set_status("ark:/99999/xray", 1, EntryStatus::Withdrawn, "check", "olga");
    this->m_catalog->set_status("ark:/99999/xray", 1, EntryStatus::Published, "", "olga");
    const std::vector<std::pair<std::string, int>> versions{
        {"ark:/99999/pub", 1}, {"ark:/99999/alice", 1}, {"ark:/99999/alice", 2}, {"ark:/99999/alice", 0},
        {"ark:/99999/xray", 1}, {"ark:/99999/xray", 2}, {"ark:/99999/bobs", 1}, {"ark:/99999/gone", 1}};
    auto seen = [&]() { return shared_scans_found(*this) + shared_scans_described(*this, versions); };
    const std::string before = seen();
    // alice's version 2 is for xray (the group), alice keeps her version 1.
    EXPECT_EQ(shared_scans_found(*this),
              "pub | Fe=1 total 1\n"
              "alice bobs pub xray | Cu=2 Fe=1 Ni=1 total 4\n"
              "pub xray | Fe=1 Ni=1 total 2\n"
              "alice pub xray | Cu=1 Fe=1 Ni=1 total 3\n"
              "pub | Fe=1 total 1\n"
              "pub | Fe=1 total 1\n"
              "alice bobs pub xray | Cu=2 Fe=1 Ni=1 total 4\n");
    TypeParam::exec(this->m_dir.path(), at_version_without_visibility(11));
    this->m_datasets.reset();
    this->m_catalog.reset();
    // Version 10: the table and its rows, as that version wrote them.
    TypeParam::exec(this->m_dir.path(), std::string(kPostgresVisibilityRows) +
                                            "UPDATE catalog_meta SET value = 10 WHERE name = 'schema_version'; "
                                            "DO $$ BEGIN IF (SELECT count(*) FROM visibility) <> 12 "
                                            "THEN RAISE EXCEPTION 'visibility rows'; END IF; END $$");
    for (int open = 0; open < 2; ++open) {  // converted, then opened as it is
      this->reopen();
      EXPECT_EQ(seen(), before);
      TypeParam::exec(this->m_dir.path(), at_version_without_visibility(11));
    }
    // Later writes see and are seen as in a new catalog.
    this->ingest({shared_scan("ark:/99999/zeds", "Zn", {"user:zed"})});
    this->m_catalog->set_status("ark:/99999/gone", 1, EntryStatus::Published, "", "olga");
    EXPECT_EQ(shared_scans_found(*this),
              "pub | Fe=1 total 1\n"
              "alice bobs pub xray | Cu=2 Fe=1 Ni=1 total 4\n"
              "gone pub xray zeds | Fe=2 Ni=1 Zn=1 total 4\n"
              "alice gone pub xray zeds | Fe=2 Cu=1 Ni=1 Zn=1 total 5\n"
              "pub | Fe=1 total 1\n"
              "pub | Fe=1 total 1\n"
              "alice bobs gone pub xray zeds | Cu=2 Fe=2 Ni=1 Zn=1 total 6\n");
    TypeParam::exec(this->m_dir.path(), at_version_without_visibility(11));
  }
}

TYPED_TEST(CatalogSuite, CursorPaginationWalks25000EntriesExactlyOnce) {
  constexpr int kEntries = 25000;
  for (int batch = 0; batch < kEntries / 5000; ++batch) {
    std::vector<Entry> es;
    for (int i = batch * 5000; i < (batch + 1) * 5000; ++i) {
      Json c = {{"dc", {{"titles", {{{"title", "scan " + std::to_string(i)}}}}, {"publicationYear", 2000 + i % 25}}},
                {"domain", {{"parity", i % 2 ? "odd" : "even"}}}};
      es.push_back(entry("ark:/99999/p" + std::to_string(i), c));
    }
    this->ingest(es);
  }
  auto walk = [&](Json q, int expect_pages) {
    std::set<std::string> seen;
    int pages = 0;
    int last_year = 0;
    std::string marker;
    do {
      Json page = q;
      if (!marker.empty()) page["marker"] = marker;
      const auto r = this->search(page);
      ++pages;
      for (const auto& h : r.hits) {
        EXPECT_TRUE(seen.insert(h.entry.identifier).second) << h.entry.identifier;
        const int year = h.entry.content["dc"]["publicationYear"].template get<int>();
        EXPECT_GE(year, last_year);
        if (q.contains("sort")) last_year = year;
      }
      marker = r.marker;
    } while (!marker.empty() && pages < 1000);
    EXPECT_EQ(pages, expect_pages);
    return seen.size();
  };
  EXPECT_EQ(walk({{"limit", 1000}}, 25), static_cast<std::size_t>(kEntries));
  EXPECT_EQ(walk({{"q", "scan"}, {"limit", 1000}}, 25), static_cast<std::size_t>(kEntries));
  EXPECT_EQ(walk({{"filters", {{{"field_name", "domain.parity"}, {"values", {"odd"}}}}},
                  {"sort", {{{"field_name", "dc.publicationYear"}, {"order", "asc"}}}},
                  {"limit", 1000}},
                 13),
            static_cast<std::size_t>(kEntries / 2));
  // A marker only continues the query that issued it.
  const auto first = this->search({{"q", "scan"}, {"limit", 10}});
  expect_error([&] { this->search({{"q", "other"}, {"marker", first.marker}}); }, "catalog.cursor.invalid", {"marker"});
  expect_error([&] { this->search({{"marker", "not-a-cursor!"}}); }, "catalog.cursor.invalid", {"marker"});
}

TYPED_TEST(CatalogSuite, IngestIsAllOrNothing) {
  std::vector<Entry> es = {entry("ark:/99999/a1", metadata()), entry("ark:/99999/a1", metadata())};
  expect_error([&] { this->ingest(es); }, "dataset.conflict");
  EXPECT_TRUE(this->m_catalog->versions("ark:/99999/a1").empty());
  EXPECT_EQ(this->search({{"q", "steel"}}).total, 0);
}

// Ingest sets `latest` as it inserts (no second write of every row): only
// the highest published version of an identifier is live, whatever order
// and batches its versions arrive in.
TYPED_TEST(CatalogSuite, OnlyTheHighestPublishedVersionIsLiveWhateverTheIngestOrder) {
  auto version = [](const std::string& id, int v, EntryStatus status = EntryStatus::Published) {
    Entry e = entry(id, metadata("Ordering " + id.substr(id.size() - 1)));
    e.version = v;
    e.status = status;
    return e;
  };
  this->ingest({version("ark:/99999/a", 1), version("ark:/99999/a", 2)});  // one batch
  this->ingest({version("ark:/99999/b", 2)});
  this->ingest({version("ark:/99999/b", 1)});  // an older version after a newer one
  this->ingest({version("ark:/99999/c", 1)});
  this->ingest({version("ark:/99999/c", 2)});
  this->ingest({version("ark:/99999/d", 1)});
  this->ingest({version("ark:/99999/d", 2, EntryStatus::Pending)});  // not published: v1 stays live
  const auto r = this->search({{"q", "ordering"}, {"limit", 100}});
  EXPECT_EQ(r.total, 4);
  std::map<std::string, int> live;
  for (const auto& h : r.hits) live[h.entry.identifier] = h.entry.version;
  EXPECT_EQ(live, (std::map<std::string, int>{{"ark:/99999/a", 2}, {"ark:/99999/b", 2}, {"ark:/99999/c", 2},
                                              {"ark:/99999/d", 1}}));
}

// PostgreSQL ingests through COPY's text format: tabs, newlines, carriage
// returns and backslashes in any value come back exactly.
TYPED_TEST(CatalogSuite, ControlCharactersAndBackslashesRoundTrip) {
  const std::string odd = "tab\there\nnew line\r\\N back\\slash \\t";
  Json meta = metadata(odd);
  meta["domain"] = {{"sample", odd}, {"path", "C:\\data\\scan"}};
  this->ingest({entry("ark:/99999/odd", meta, {"public"}, "o\tw\\ner")});
  const Entry e = this->m_datasets->describe("ark:/99999/odd", 0, user("bob"));
  EXPECT_EQ(e.content, meta);
  EXPECT_EQ(e.owner, "o\tw\\ner");
  const auto r = this->search({{"filters", {{{"field_name", "domain.sample"}, {"values", {odd}}}}}});
  EXPECT_EQ(r.total, 1);
  EXPECT_EQ(this->search({{"q", "slash"}}).total, 1);
}

// SQL that turns a PostgreSQL catalog of this beamflow (schema version 8:
// the tsvector and the tags only in live_entries, kept by beamflow) back
// into version 7's layout: both columns in entries too (a live entry's
// copied from its live row, any other's empty: a conversion from before
// version 7 rewrites them from the content) and the statement triggers
// that copied them to live_entries. The older PostgreSQL layouts below
// start from it.
const char* kPostgresVersion7Layout = R"sql(
ALTER TABLE entries ADD COLUMN tsv tsvector, ADD COLUMN tags BIGINT[] NOT NULL DEFAULT '{}';
UPDATE entries e SET tsv = l.tsv, tags = l.tags FROM live_entries l WHERE l.id = e.id;
UPDATE entries SET tsv = '' WHERE tsv IS NULL;
ALTER TABLE entries ALTER COLUMN tsv SET NOT NULL;
CREATE FUNCTION beamflow_live_entries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    DELETE FROM live_entries l USING old_rows o WHERE l.id = o.id;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    INSERT INTO live_entries(id, public, year, published_ms, identifier, title, facets, tsv, tags)
      SELECT id, public, year, published_ms, identifier, title, facets, tsv, tags FROM new_rows
      WHERE status = 'published' AND latest = 1;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER live_entries_insert AFTER INSERT ON entries REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION beamflow_live_entries();
CREATE TRIGGER live_entries_update AFTER UPDATE ON entries
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION beamflow_live_entries();
CREATE TRIGGER live_entries_delete AFTER DELETE ON entries REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION beamflow_live_entries();
UPDATE catalog_meta SET value = 7 WHERE name = 'schema_version';
)sql";

// SQL that turns a catalog of this beamflow back into the layout of
// schema version 4 (no live_entries table or its triggers; SQLite's
// entries_live index, PostgreSQL's GIN index on entries): each older layout
// below starts from it.
template <class Backend>
std::string version_4_layout() {
  if constexpr (std::is_same_v<Backend, SqliteBackend>) {
    return "DROP TRIGGER live_entries_update; DROP TRIGGER live_entries_delete; "
           "DROP TABLE live_entries; DROP TABLE live_names; CREATE INDEX entries_live ON entries(id, status, latest, public, year, "
           "published_ms, identifier, title, facets) WHERE status = 'published' AND latest = 1; PRAGMA user_version = 4; ";
  } else {
    return std::string(kPostgresVersion7Layout) +
           "DROP TRIGGER live_entries_insert ON entries; DROP TRIGGER live_entries_update ON entries; "
           "DROP TRIGGER live_entries_delete ON entries; DROP FUNCTION beamflow_live_entries(); DROP TABLE live_entries; "
           "ALTER TABLE entries DROP COLUMN tags; CREATE INDEX entries_tsv ON entries USING GIN(tsv); "
           "UPDATE catalog_meta SET value = 4 WHERE name = 'schema_version'; ";
  }
}

// SQL that turns a SQLite catalog of this beamflow back into the layout of
// schema version 7: the identifier and title in live_entries, no
// live_names; the older SQLite layouts below version 7 start from it.
std::string version_7_layout() {
  return "DROP TRIGGER live_entries_update; DROP TRIGGER live_entries_delete; DROP TABLE live_entries; "
         "DROP TABLE live_names; "
         "CREATE TABLE live_entries(id INTEGER PRIMARY KEY, public INTEGER NOT NULL, year INTEGER NOT NULL, "
         "published_ms INTEGER NOT NULL, identifier TEXT NOT NULL, title TEXT NOT NULL, facets BLOB, fts_size BLOB); "
         "CREATE TRIGGER live_entries_update AFTER UPDATE ON entries BEGIN DELETE FROM live_entries WHERE id = old.id; "
         "INSERT INTO live_entries SELECT new.id, new.public, new.year, new.published_ms, new.identifier, new.title, "
         "new.facets, (SELECT sz FROM fts_docsize WHERE id = new.id) WHERE new.status = 'published' AND new.latest = 1; "
         "END; CREATE TRIGGER live_entries_delete AFTER DELETE ON entries BEGIN "
         "DELETE FROM live_entries WHERE id = old.id; END; "
         "INSERT INTO live_entries SELECT id, public, year, published_ms, identifier, title, facets, "
         "(SELECT sz FROM fts_docsize WHERE id = entries.id) FROM entries WHERE status = 'published' AND latest = 1; "
         "PRAGMA user_version = 7; ";
}

// Schema version 2 keeps exact-filter tokens in the full-text index, a
// `public` flag on entries and one (field, entry, sval) key for the field
// rows. A catalog written by the version before (turned back into that
// layout here: no flag, no tokens, the old field table) is converted when
// opened, its search index rebuilt from the entries' content, in the
// opening transaction.
TYPED_TEST(CatalogSuite, AVersion1CatalogIsReindexedWhenOpened) {
  Json steel = metadata("Old steel scan"), copper = metadata("Old copper scan");
  steel["domain"] = {{"elements", {"Fe", "Ni"}}, {"beamline", "2-BM"}};
  copper["domain"] = {{"elements", {"Cu"}}, {"beamline", "7-BM"}};
  this->ingest({entry("ark:/99999/old1", steel), entry("ark:/99999/old2", copper, {"group:xray"}, "olga")});
  this->m_datasets.reset();
  this->m_catalog.reset();
  if constexpr (std::is_same_v<TypeParam, SqliteBackend>) {
    TypeParam::exec(this->m_dir.path(),
                    version_4_layout<TypeParam>() +
                    "DROP INDEX entries_live; ALTER TABLE entries DROP COLUMN public; ALTER TABLE entries DROP COLUMN facets; "
                    "DROP TABLE fields; "
                    "CREATE TABLE fields(entry INTEGER NOT NULL, field TEXT NOT NULL, sval TEXT NOT NULL, nval REAL, "
                    "PRIMARY KEY(entry, field, sval)) WITHOUT ROWID; DROP TABLE fts; "
                    "CREATE VIRTUAL TABLE fts USING fts5(body, content=''); PRAGMA user_version = 0;");
  } else {
    TypeParam::exec(this->m_dir.path(),
                    version_4_layout<TypeParam>() +
                    "ALTER TABLE entries DROP COLUMN public; ALTER TABLE entries DROP COLUMN facets; DROP TABLE catalog_meta; "
                    "DROP TABLE fields; "
                    "UPDATE entries SET tsv = to_tsvector('simple', 'gone'); "
                    "CREATE TABLE fields(entry BIGINT NOT NULL, field TEXT NOT NULL, sval TEXT NOT NULL, "
                    "nval DOUBLE PRECISION, PRIMARY KEY(entry, field, sval))");
  }
  for (int open = 0; open < 2; ++open) {  // converted, then opened as it is
    this->reopen();
    auto seen = [&](Json q, const Identity& who) {
      q["facets"] = {{{"field_name", "domain.elements"}}};
      q["sort"] = {{{"field_name", "identifier"}}};
      const auto r = this->search(q, who);
      std::string s;
      for (const auto& id : this->ids(r)) s += id.substr(11) + " ";
      s += "|";
      for (const auto& b : r.facets[0].buckets) s += " " + b.value.template get<std::string>() + "=" + std::to_string(b.count);
      return s;
    };
    EXPECT_EQ(seen({{"q", "old"}}, user("carol")), "old1 | Fe=1 Ni=1");
    EXPECT_EQ(seen({{"q", "old"}}, user("dave", {"xray"})), "old1 old2 | Cu=1 Fe=1 Ni=1");
    EXPECT_EQ(seen({{"filters", {{{"field_name", "domain.elements"}, {"values", {"Cu", "Ni"}}}}}}, user("olga")),
              "old1 old2 | Cu=1 Fe=1 Ni=1");
    EXPECT_EQ(seen({{"filters", {{{"type", "match_all"}, {"field_name", "domain.elements"}, {"values", {"Fe", "Ni"}}}}}},
                   user("olga")),
              "old1 | Fe=1 Ni=1");
    EXPECT_EQ(seen({{"q", "copper"}, {"filters", {{{"field_name", "domain.beamline"}, {"values", {"7-BM"}}}}}}, user("carol")),
              "|");
  }
}

// Schema version 3 adds each entry's packed facet values (the `facets`
// column, in SQLite also in the entries_live index). A version-2 catalog
// gets them filled in from the content when opened; terms facets count
// them, so the counts show whether they were.
TYPED_TEST(CatalogSuite, AVersion2CatalogGetsItsFacetValuesWhenOpened) {
  Json steel = metadata("Old steel scan"), copper = metadata("Old copper scan");
  steel["domain"] = {{"elements", {"Fe", "Ni"}}, {"beamline", "2-BM"}};
  copper["domain"] = {{"elements", {"Cu", "Fe"}}, {"beamline", "7-BM"}};
  this->ingest({entry("ark:/99999/old1", steel), entry("ark:/99999/old2", copper, {"group:xray"}, "olga")});
  this->m_datasets.reset();
  this->m_catalog.reset();
  if constexpr (std::is_same_v<TypeParam, SqliteBackend>) {
    TypeParam::exec(this->m_dir.path(),
                    version_4_layout<TypeParam>() + "DROP INDEX entries_live; ALTER TABLE entries DROP COLUMN facets; "
                    "CREATE INDEX entries_live ON entries(id, status, latest, public, year, published_ms, identifier, "
                    "title) WHERE status = 'published' AND latest = 1; PRAGMA user_version = 2;");
  } else {
    TypeParam::exec(this->m_dir.path(), version_4_layout<TypeParam>() +
                                            "ALTER TABLE entries DROP COLUMN facets; "
                                            "UPDATE catalog_meta SET value = 2 WHERE name = 'schema_version'");
  }
  for (int open = 0; open < 2; ++open) {  // converted, then opened as it is
    this->reopen();
    const auto r = this->search({{"q", "old"},
                                 {"facets", {{{"field_name", "domain.elements"}}, {{"field_name", "domain.beamline"}}}}},
                                user("dave", {"xray"}));
    const Json g = to_gmeta(r)["facet_results"];
    EXPECT_EQ(g[0]["buckets"], Json::parse(R"([{"value":"Fe","count":2},{"value":"Cu","count":1},{"value":"Ni","count":1}])"));
    EXPECT_EQ(g[1]["buckets"], Json::parse(R"([{"value":"2-BM","count":1},{"value":"7-BM","count":1}])"));
    const auto carol = this->search({{"q", "old"}, {"facets", {{{"field_name", "domain.elements"}}}}}, user("carol"));
    EXPECT_EQ(to_gmeta(carol)["facet_results"][0]["buckets"],
              Json::parse(R"([{"value":"Fe","count":1},{"value":"Ni","count":1}])"));
  }
}

// Schema version 4 keeps field rows for numbers and dates only. A
// version-3 catalog (here with a text row no entry holds, which a wildcard
// filter on its field would find while it exists) loses its text rows when
// opened, in the opening transaction; filters and facets answer as before.
TYPED_TEST(CatalogSuite, AVersion3CatalogDropsItsTextFieldRowsWhenOpened) {
  ingest_corpus(*this);
  const std::int64_t t1 = this->m_catalog->versions("ark:/99999/t1").at(0).row;
  this->m_datasets.reset();
  this->m_catalog.reset();
  const std::string text_row = "INSERT INTO fields(field, entry, sval, nval) VALUES ('domain.beamline', " +
                               std::to_string(t1) + ", 'stale', NULL); ";
  if constexpr (std::is_same_v<TypeParam, SqliteBackend>) {
    TypeParam::exec(this->m_dir.path(), version_4_layout<TypeParam>() + text_row + "PRAGMA user_version = 3;");
  } else {
    TypeParam::exec(this->m_dir.path(), version_4_layout<TypeParam>() + text_row +
                                            "UPDATE catalog_meta SET value = 3 WHERE name = 'schema_version'");
  }
  for (int open = 0; open < 2; ++open) {  // converted, then opened as it is
    this->reopen();
    auto q = [&](Json filters) {
      std::string s;
      for (const auto& id : this->ids(this->search({{"filters", filters}, {"sort", {{{"field_name", "identifier"}}}}})))
        s += id.substr(11);
      return s;
    };
    EXPECT_EQ(q({{{"type", "like"}, {"field_name", "domain.beamline"}, {"value", "st*"}}}), "");
    EXPECT_EQ(q({{{"type", "like"}, {"field_name", "domain.beamline"}, {"value", "32*"}}}), "t4t5t6t7t8");
    EXPECT_EQ(q({{{"field_name", "domain.beamline"}, {"values", {"2-BM"}}}}), "t1t2t3");
    EXPECT_EQ(q({{{"type", "range"}, {"field_name", "domain.energy_kev"}, {"values", {{{"from", 30}, {"to", 50}}}}}}),
              "t2t6t7");
    const auto r = this->search({{"facets", {{{"field_name", "domain.beamline"}}}}});
    EXPECT_EQ(to_gmeta(r)["facet_results"][0]["buckets"],
              Json::parse(R"([{"value":"32-ID","count":5},{"value":"2-BM","count":3}])"));
  }
}

// Schema version 5 reads what a search needs of the live entries from a
// table of their own (live_entries), kept by triggers on entries. A
// version-4 catalog (here with old versions, a pending and a withdrawn
// entry, and group-restricted ones) gets it filled from its entries when
// opened, in the opening transaction: every search answers as before, for
// every caller, and later changes (an approval, a withdrawal, a new
// version) show in searches as they do in a new catalog.
TYPED_TEST(CatalogSuite, AVersion4CatalogGetsItsLiveEntriesWhenOpened) {
  ingest_corpus(*this);
  auto version = [](const std::string& id, int v, EntryStatus status, std::vector<std::string> visible = {"public"}) {
    Json c = metadata("Layered scan " + id.substr(id.size() - 1));
    c["domain"] = {{"elements", {"Fe", id.substr(id.size() - 1)}}, {"beamline", "2-BM"}};
    Entry e = entry(id, c, std::move(visible), "olga");
    e.version = v;
    e.status = status;
    return e;
  };
  this->ingest({version("ark:/99999/a", 1, EntryStatus::Published), version("ark:/99999/a", 2, EntryStatus::Published),
                version("ark:/99999/b", 1, EntryStatus::Published, {"group:xray"}),
                version("ark:/99999/c", 1, EntryStatus::Pending), version("ark:/99999/d", 1, EntryStatus::Published),
                version("ark:/99999/e", 1, EntryStatus::Published, {"user:bob"})});
  this->m_catalog->set_status("ark:/99999/d", 1, EntryStatus::Withdrawn, "mislabelled", "olga");
  auto seen = [&]() {
    std::string s;
    for (const auto& who : {user("carol"), user("dave", {"xray"}), user("bob"), Identity{"root", {}, true}}) {
      for (const Json& q : {Json{{"q", "layered"}}, Json{{"q", "cracks tomography steel"}}, Json{},
                            Json{{"filters", {{{"type", "like"}, {"field_name", "domain.elements"}, {"value", "F*"}}}}},
                            Json{{"filters", {{{"field_name", "domain.beamline"}, {"values", {"2-BM"}}}}}}}) {
        Json full = q;
        full["limit"] = 100;
        full["sort"] = {{{"field_name", "identifier"}}};
        full["facets"] = {{{"field_name", "domain.elements"}}, {{"field_name", "dc.publicationYear"}}};
        const auto r = this->search(full, who);
        s += std::to_string(r.total) + ":";
        for (const auto& h : r.hits) s += " " + h.entry.identifier.substr(11) + "v" + std::to_string(h.entry.version);
        s += " |";
        for (const auto& f : r.facets)
          for (const auto& b : f.buckets) s += " " + b.value.dump() + "=" + std::to_string(b.count);
        s += "\n";
      }
    }
    return s;
  };
  const std::string before = seen();
  EXPECT_NE(before.find("av2"), std::string::npos);
  EXPECT_EQ(before.find("av1"), std::string::npos);
  this->m_datasets.reset();
  this->m_catalog.reset();
  TypeParam::exec(this->m_dir.path(), version_4_layout<TypeParam>());
  for (int open = 0; open < 2; ++open) {  // converted, then opened as it is
    this->reopen();
    EXPECT_EQ(seen(), before);
  }
  // Changes after the conversion follow, as in a catalog made by version 5.
  this->m_catalog->set_status("ark:/99999/c", 1, EntryStatus::Published, "", "olga");
  this->m_catalog->set_status("ark:/99999/t1", 1, EntryStatus::Withdrawn, "gone", "alice");
  this->ingest({version("ark:/99999/a", 3, EntryStatus::Published)});
  const auto r = this->search({{"sort", {{{"field_name", "identifier"}}}}, {"limit", 100}}, user("carol"));
  std::string ids;
  for (const auto& h : r.hits) ids += h.entry.identifier.substr(11) + "v" + std::to_string(h.entry.version) + " ";
  EXPECT_EQ(ids, "av3 cv1 t2v1 t3v1 t4v1 t5v1 t6v1 t7v1 t8v1 ");
  EXPECT_EQ(r.total, 9);
}

// PostgreSQL schema version 6: beamflow writes the tsvector from its own
// tokens. For words the server's parser keeps whole its lexemes and
// positions are what to_tsvector('simple') makes of them (the version-5
// way), also past the 16,383 positions the type keeps and the 255 a lexeme
// keeps; a token the parser splits (1e5x: 1e5 and x) is one lexeme, as in
// SQLite. Searches cast their quoted lexemes and find them.
TYPED_TEST(CatalogSuite, PostgresLexemesAreTheParsersForAsciiWords) {
  if constexpr (std::is_same_v<TypeParam, SqliteBackend>) {
    GTEST_SKIP() << "PostgreSQL's tsvector";
  } else {
    std::string words;
    for (int i = 0; i < 17000; ++i) words += (i % 3 ? "w" + std::to_string(i % 700) : std::string("often")) + " ";
    Json c = metadata("Long abstract 007 x1e5 abc123def 1e5x");
    c["dc"]["descriptions"] = {{{"description", words}, {"descriptionType", "Abstract"}}};
    const Entry e = entry("ark:/99999/long", c);
    const std::string body = index_terms(e).text;
    this->ingest({e});
    // 1e5x compared as a word the parser keeps whole in its place.
    TypeParam::exec(this->m_dir.path(),
                    "DO $$ BEGIN IF (SELECT ts_delete(tsv, ARRAY(SELECT lexeme FROM unnest(tsv) WHERE lexeme LIKE '~%' "
                    "OR lexeme = '1e5x')) <> ts_delete(to_tsvector('simple', replace('" + body + "', ' 1e5x ', ' whole ')), "
                    "'whole'::text) FROM live_entries WHERE identifier = 'ark:/99999/long') "
                    "THEN RAISE EXCEPTION 'the tsvector differs from to_tsvector'; END IF; END $$");
    for (const char* q : {"often", "w699", "1e5x", "007", "x1e5", "abc123def", "abc*"})
      EXPECT_EQ(this->search({{"q", q}}).total, 1) << q;
  }
}

// A version-5 PostgreSQL catalog whose tsvectors the server's parser made
// (here one made of other words altogether, as a locale that splits or
// lower-cases differently would) has them rewritten from the content when
// opened, in the opening transaction.
TYPED_TEST(CatalogSuite, AVersion5PostgresCatalogGetsBeamflowsLexemesWhenOpened) {
  if constexpr (std::is_same_v<TypeParam, SqliteBackend>) {
    GTEST_SKIP() << "PostgreSQL's tsvector";
  } else {
    ingest_corpus(*this);
    this->m_datasets.reset();
    this->m_catalog.reset();
    TypeParam::exec(this->m_dir.path(), std::string(kPostgresVersion7Layout) +
                                        "UPDATE entries SET tsv = to_tsvector('simple', 'gone') "
                                        "WHERE identifier = 'ark:/99999/t1'; "
                                        "UPDATE catalog_meta SET value = 5 WHERE name = 'schema_version'");
    for (int open = 0; open < 2; ++open) {  // converted, then opened as it is
      this->reopen();
      EXPECT_EQ(this->search({{"q", "gone"}}).total, 0);
      EXPECT_EQ(this->ids(this->search({{"q", "steel"}, {"filters", {{{"field_name", "domain.beamline"}, {"values", {"2-BM"}}}}},
                                       {"sort", {{{"field_name", "identifier"}}}}})),
                std::vector<std::string>({"ark:/99999/t1", "ark:/99999/t2"}));
    }
  }
}

// SQL that turns a PostgreSQL catalog of schema version 7 back into
// version 6's layout: each entry's filter hashes as lexemes '~h' + 16 hex
// digits in its tsvector (no count lexemes), no tags columns, the
// version-6 trigger function (this one without the tags).
const char* kPostgresVersion6Layout = R"sql(
UPDATE entries SET tsv = ts_delete(tsv, ARRAY(SELECT lexeme FROM unnest(tsv) WHERE lexeme LIKE '~%'))
  || array_to_tsvector(ARRAY(SELECT '~h' || lpad(to_hex(t), 16, '0') FROM unnest(tags) t));
DO $$ BEGIN EXECUTE replace(pg_get_functiondef('beamflow_live_entries'::regproc), ', tags', ''); END $$;
DROP INDEX live_entries_tags; ALTER TABLE live_entries DROP COLUMN tags; ALTER TABLE entries DROP COLUMN tags;
UPDATE catalog_meta SET value = 6 WHERE name = 'schema_version';
)sql";

// A search's answer as one line: the total, each hit's identifier, version
// and score (to the bit) and the first facet's buckets.
std::string scored_answer(const SearchResult& r) {
  std::string s = std::to_string(r.total) + ":";
  for (const auto& h : r.hits) {
    char score[64];
    std::snprintf(score, sizeof score, "%a", h.score);
    s += " " + h.entry.identifier.substr(11) + "v" + std::to_string(h.entry.version) + "@" + score;
  }
  for (const auto& b : r.facets[0].buckets) s += " " + b.value.dump() + "=" + std::to_string(b.count);
  return s + "\n";
}

// An entry of the corpus's kind with more than 255 distinct field values
// (its tsvector needs two count lexemes).
Entry many_values_entry() {
  Json c = metadata("Tomography of many samples", 2024);
  Json samples = Json::array();
  for (int i = 0; i < 300; ++i) samples.push_back("sample-" + std::to_string(i));
  c["domain"] = {{"elements", {"Fe"}}, {"beamline", "2-BM"}, {"samples", samples}};
  return entry("ark:/99999/many", c);
}

// PostgreSQL schema version 7: an entry's exact-filter hashes are a
// bigint[] (`tags`, its own GIN index), no longer lexemes of its tsvector,
// which holds count lexemes in their place ('~' with positions 1 to 255,
// '~1' ...): ts_rank normalises by the tsvector's length, and each entry's
// rank is version 6's to the bit. Without the count lexemes the ranks
// differ (checked here too).
TYPED_TEST(CatalogSuite, PostgresRanksAreVersion6sWithTheHashesOutOfTheTsvector) {
  if constexpr (std::is_same_v<TypeParam, SqliteBackend>) {
    GTEST_SKIP() << "PostgreSQL's tsvector";
  } else {
    ingest_corpus(*this);
    this->ingest({many_values_entry()});
    const std::string v6 =
        "ts_delete(l.tsv, ARRAY(SELECT lexeme FROM unnest(l.tsv) WHERE lexeme LIKE '~%')) || "
        "array_to_tsvector(ARRAY(SELECT '~h' || lpad(to_hex(t), 16, '0') FROM unnest(l.tags) t))";
    const std::string words = "ts_delete(l.tsv, ARRAY(SELECT lexeme FROM unnest(l.tsv) WHERE lexeme LIKE '~%'))";
    TypeParam::exec(
        this->m_dir.path(),
        "DO $$ BEGIN "
        "IF EXISTS (SELECT 1 FROM live_entries l, unnest(l.tsv) u WHERE u.lexeme LIKE '~h%') "
        "THEN RAISE EXCEPTION 'a hash lexeme in the tsvector'; END IF; "
        "IF (SELECT count(*) FROM live_entries WHERE cardinality(tags) > 255) <> 1 "
        "THEN RAISE EXCEPTION 'no entry with over 255 hashes'; END IF; "
        "IF EXISTS (SELECT 1 FROM live_entries l, (VALUES ('tomography'::tsquery), ('steel'), ('batt:*'), "
        "('tomography & many'), ('cracks | steel')) q(q) WHERE ts_rank(l.tsv, q.q, 1) <> ts_rank(" + v6 + ", q.q, 1)) "
        "THEN RAISE EXCEPTION 'a rank differs from version 6'; END IF; "
        "IF NOT EXISTS (SELECT 1 FROM live_entries l WHERE l.tsv @@ 'tomography' "
        "AND ts_rank(" + words + ", 'tomography', 1) <> ts_rank(" + v6 + ", 'tomography', 1)) "
        "THEN RAISE EXCEPTION 'the hashes change no rank'; END IF; END $$");
  }
}

// A version-6 PostgreSQL catalog (the hashes as '~h' lexemes in the
// tsvector, no tags columns) has every row rewritten when opened, in the
// opening transaction: every search, ranks included, answers as before.
TYPED_TEST(CatalogSuite, AVersion6PostgresCatalogGetsItsFilterHashesWhenOpened) {
  if constexpr (std::is_same_v<TypeParam, SqliteBackend>) {
    GTEST_SKIP() << "PostgreSQL's tsvector";
  } else {
    ingest_corpus(*this);
    this->ingest({many_values_entry()});
    auto seen = [&]() {
      std::string s;
      for (const auto& who : {user("carol"), Identity{"root", {}, true}}) {
        for (Json q : {Json{{"q", "tomography"}}, Json{{"q", "steel"}, {"filters", {{{"field_name", "domain.beamline"}, {"values", {"2-BM"}}}}}},
                       Json{{"filters", {{{"type", "match_all"}, {"field_name", "domain.elements"}, {"values", {"Fe", "Ni"}}}}}},
                       Json{{"filters", {{{"field_name", "domain.elements"}, {"values", {"Li", "Ti"}}}}}},
                       Json{{"q", "tomography"}, {"filters", {{{"field_name", "domain.samples"}, {"values", {"sample-299"}}}}}}}) {
          q["facets"] = {{{"field_name", "domain.elements"}}};
          q["limit"] = 100;
          s += scored_answer(this->search(q, who));
        }
      }
      return s;
    };
    const std::string before = seen();
    EXPECT_NE(before.find("1: manyv1@"), std::string::npos) << before;
    this->m_datasets.reset();
    this->m_catalog.reset();
    TypeParam::exec(this->m_dir.path(), std::string(kPostgresVersion7Layout) + kPostgresVersion6Layout);
    TypeParam::exec(this->m_dir.path(),
                    "DO $$ BEGIN IF (SELECT count(*) FROM live_entries l, unnest(l.tsv) u WHERE u.lexeme LIKE '~h%') < 300 "
                    "THEN RAISE EXCEPTION 'not the version-6 layout'; END IF; END $$");
    for (int open = 0; open < 2; ++open) {  // converted, then opened as it is
      this->reopen();
      EXPECT_EQ(seen(), before);
    }
    TypeParam::exec(this->m_dir.path(),
                    "DO $$ BEGIN IF EXISTS (SELECT 1 FROM live_entries l, unnest(l.tsv) u WHERE u.lexeme LIKE '~h%') "
                    "OR EXISTS (SELECT 1 FROM live_entries WHERE cardinality(tags) = 0) "
                    "OR EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'entries' "
                    "AND column_name IN ('tsv', 'tags')) "
                    "THEN RAISE EXCEPTION 'not rewritten'; END IF; END $$");
  }
}

// A PostgreSQL ingest's transaction collects its batch's GIN keys in
// work_mem (before schema version 8, the live_entries trigger also held the
// batch's rows there): work_mem of at least 64 MB there (the server's
// default, 4 MB, spilled a temporary file every 2,700 bench entries), and
// back to the session's value after it.
TYPED_TEST(CatalogSuite, APostgresIngestRunsWithTheWorkMemOfItsBatch) {
  if constexpr (std::is_same_v<TypeParam, SqliteBackend>) {
    GTEST_SKIP() << "PostgreSQL's work_mem";
  } else {
    TypeParam::exec(this->m_dir.path(),
                    "CREATE TABLE probe(work_mem BIGINT); "
                    "CREATE FUNCTION probe() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    "INSERT INTO probe VALUES (pg_size_bytes(current_setting('work_mem'))); RETURN NULL; END $$; "
                    "CREATE TRIGGER probe AFTER INSERT ON entries FOR EACH STATEMENT EXECUTE FUNCTION probe()");
    this->ingest({entry("ark:/99999/w1", metadata())});
    std::vector<Entry> many;
    for (int i = 0; i < 17000; ++i) many.push_back(entry("ark:/99999/m" + std::to_string(i), metadata()));
    this->ingest(many);
    EXPECT_EQ(this->search({{"q", "steel"}}).total, 17001);
    TypeParam::exec(this->m_dir.path(),
                    "DO $$ BEGIN IF (SELECT array_agg(work_mem ORDER BY work_mem) FROM probe) "
                    "<> ARRAY[64 * 1024 * 1024, 17000 * 4096]::bigint[] "
                    "THEN RAISE EXCEPTION 'work_mem: %', (SELECT array_agg(work_mem) FROM probe); END IF; END $$");
  }
}

// PostgreSQL ingest streams the entries' rows to the server while it makes
// the next ones: a batch that fails after some rows went (a value the
// client cannot write, or a conflict the server finds) records nothing and
// leaves the catalog usable.
TYPED_TEST(CatalogSuite, APostgresIngestThatFailsMidStreamRecordsNothing) {
  if constexpr (std::is_same_v<TypeParam, SqliteBackend>) {
    GTEST_SKIP() << "PostgreSQL's COPY stream";
  } else {
    auto batch = [](const std::string& prefix, const std::string& last) {
      std::vector<Entry> es;
      Json big = metadata();
      std::string notes;
      for (int i = 0; i < 500; ++i) notes += "note" + std::to_string(i) + " ";
      big["domain"]["notes"] = notes;
      for (int i = 0; i < 1000; ++i) es.push_back(entry(prefix + std::to_string(i), big));  // > 4 MB of rows
      es.push_back(entry(last, metadata()));
      return es;
    };
    std::vector<Entry> bad = batch("ark:/99999/b", "ark:/99999/x");
    bad.back().content["domain"]["notes"] = std::string("\xff\xfe");  // invalid UTF-8: the client fails on it
    EXPECT_ANY_THROW(this->ingest(bad));
    expect_error([&] { this->ingest(batch("ark:/99999/c", "ark:/99999/c0")); }, "dataset.conflict");
    EXPECT_EQ(this->search({{"q", "steel"}}).total, 0);
    this->ingest(batch("ark:/99999/d", "ark:/99999/x"));
    EXPECT_EQ(this->search({{"q", "steel"}}).total, 1001);
  }
}

// PostgreSQL ingest sends the entries' rows in COPY's binary format (the
// tsvector and the tags in their binary forms); a reindex writes them as
// text (tsvector_text). Both give every row the same tsvector, facets and
// tags: reindexing a catalog ingested the binary way rewrites no row (its
// xmin stays), over words past 16,383 positions and 255 repeats, over 255
// hashes, non-ASCII words and control characters. A word longer than the
// type takes is refused, as the text form's server-side check refused it.
TYPED_TEST(CatalogSuite, PostgresBinaryIngestRowsAreTheTextFormsRows) {
  if constexpr (std::is_same_v<TypeParam, SqliteBackend>) {
    GTEST_SKIP() << "PostgreSQL's COPY formats";
  } else {
    ingest_corpus(*this);
    std::string words;
    for (int i = 0; i < 17000; ++i) words += (i % 3 ? "w" + std::to_string(i % 700) : std::string("often")) + " ";
    Json c = metadata("Long abstract 007 x1e5 abc123def 1e5x \u00e9t\u00e9 Stra\u00dfe \u6f22\u5b57 tab\there\\n");
    c["dc"]["descriptions"] = {{{"description", words}, {"descriptionType", "Abstract"}}};
    Entry pending = entry("ark:/99999/pending", metadata("Pending zzz"), {"alice"});
    pending.status = EntryStatus::Pending;
    pending.request_id = "req-1";
    this->ingest({entry("ark:/99999/long", c), many_values_entry(), pending});
    Json too_long = metadata();
    too_long["domain"]["notes"] = std::string(2047, 'x');
    expect_error([&] { this->ingest({entry("ark:/99999/too-long", too_long)}); }, "catalog.db");
    Json longest = metadata();
    longest["domain"]["notes"] = std::string(2046, 'x');
    this->ingest({entry("ark:/99999/longest", longest)});
    // Version 7's layout has entries' tsvectors and tags copied from the
    // live rows (the pending entry, which has none, gets its own from the
    // reindex).
    TypeParam::exec(this->m_dir.path(), std::string(kPostgresVersion7Layout) +
                                            "CREATE TABLE before AS SELECT id, xmin::text AS x FROM entries "
                                            "WHERE id IN (SELECT id FROM live_entries); "
                                            "UPDATE catalog_meta SET value = 6 WHERE name = 'schema_version'");
    this->m_datasets.reset();
    this->m_catalog = open_catalog(TypeParam::location(this->m_dir.path()));  // reindexes: version 6
    TypeParam::exec(this->m_dir.path(),
                    "DO $$ BEGIN IF (SELECT count(*) FROM before) < 10 OR EXISTS (SELECT 1 FROM entries e "
                    "JOIN before b USING (id) WHERE b.x <> e.xmin::text) "
                    "THEN RAISE EXCEPTION 'the reindex rewrote rows'; END IF; END $$");
    EXPECT_EQ(this->m_catalog->versions("ark:/99999/pending").at(0).request_id, "req-1");
  }
}

// PostgreSQL schema version 8: the tsvector and the tags are stored only
// in live_entries, which beamflow keeps without triggers. A live row that
// set_status makes again from the entry's content (withdrawn, then
// published again; an older version that becomes the latest) is the row
// the ingest wrote, every column; a row that stops being live is gone.
TYPED_TEST(CatalogSuite, PostgresLiveRowsMadeAgainAreTheIngestsRows) {
  if constexpr (std::is_same_v<TypeParam, SqliteBackend>) {
    GTEST_SKIP() << "PostgreSQL's live_entries";
  } else {
    ingest_corpus(*this);
    this->ingest({many_values_entry()});
    Entry v1 = entry("ark:/99999/x", metadata("Layered quartz"), {"group:xray"}, "olga");
    this->ingest({v1});
    TypeParam::exec(this->m_dir.path(), "CREATE TABLE ingested AS SELECT * FROM live_entries");
    Entry v2 = entry("ark:/99999/x", metadata("Layered basalt"), {"public"}, "olga");
    v2.version = 2;
    this->ingest({v2});
    EXPECT_EQ(this->search({{"q", "quartz"}}, Identity{"root", {}, true}).total, 0);
    EXPECT_EQ(this->search({{"q", "basalt"}}).total, 1);
    this->m_catalog->set_status("ark:/99999/x", 2, EntryStatus::Withdrawn, "wrong sample", "olga");
    EXPECT_EQ(this->search({{"q", "basalt"}}, Identity{"root", {}, true}).total, 0);
    const auto again = this->search({{"q", "quartz"}}, user("dave", {"xray"}));
    ASSERT_EQ(again.total, 1);
    EXPECT_EQ(again.hits.at(0).entry.version, 1);
    for (const auto& [id, word] : {std::pair{"ark:/99999/t1", "fatigue"}, {"ark:/99999/t7", "phantoms"},
                                   {"ark:/99999/many", "many"}}) {
      const auto found = this->search({{"q", word}}).total;
      this->m_catalog->set_status(id, 0, EntryStatus::Withdrawn, "check", "olga");
      EXPECT_EQ(this->search({{"q", word}}).total, found - 1) << id;
      this->m_catalog->set_status(id, 0, EntryStatus::Published, "", "olga");
      EXPECT_EQ(this->search({{"q", word}}).total, found) << id;
    }
    TypeParam::exec(this->m_dir.path(),
                    "DO $$ BEGIN IF (SELECT count(*) FROM live_entries) <> 10 OR EXISTS ("
                    "(SELECT * FROM live_entries EXCEPT SELECT * FROM ingested) UNION ALL "
                    "(SELECT * FROM ingested EXCEPT SELECT * FROM live_entries)) "
                    "THEN RAISE EXCEPTION 'a live row differs from the ingested one'; END IF; END $$");
  }
}

// A version-7 PostgreSQL catalog (the tsvector and the tags also in
// entries, triggers copying them to live_entries) loses both entries
// columns and the triggers when opened, in the opening transaction; its
// live rows are made again (schema version 9 codes their facet values:
// the same rows, by id), every search answers as before, and later
// changes show as in a catalog made by this version.
TYPED_TEST(CatalogSuite, AVersion7PostgresCatalogStoresItsTsvectorsOnceWhenOpened) {
  if constexpr (std::is_same_v<TypeParam, SqliteBackend>) {
    GTEST_SKIP() << "PostgreSQL's layout";
  } else {
    ingest_corpus(*this);
    auto version = [](const std::string& id, int v, EntryStatus status) {
      Json c = metadata("Layered scan " + id.substr(id.size() - 1));
      c["domain"] = {{"elements", {"Fe", id.substr(id.size() - 1)}}, {"beamline", "2-BM"}};
      Entry e = entry(id, c, {"public"}, "olga");
      e.version = v;
      e.status = status;
      return e;
    };
    this->ingest({version("ark:/99999/a", 1, EntryStatus::Published), version("ark:/99999/a", 2, EntryStatus::Published),
                  version("ark:/99999/c", 1, EntryStatus::Pending), version("ark:/99999/d", 1, EntryStatus::Published)});
    auto seen = [&]() {
      std::string s;
      for (const Json& q : {Json{{"q", "layered"}}, Json{{"q", "cracks tomography steel"}},
                            Json{{"filters", {{{"field_name", "domain.beamline"}, {"values", {"2-BM"}}}}}}}) {
        Json full = q;
        full["facets"] = {{{"field_name", "domain.elements"}}};
        s += scored_answer(this->search(full));
      }
      return s;
    };
    const std::string before = seen();
    EXPECT_NE(before.find("av2"), std::string::npos) << before;
    this->m_datasets.reset();
    this->m_catalog.reset();
    TypeParam::exec(this->m_dir.path(), std::string(kPostgresVersion7Layout) +
                                            "CREATE TABLE before_live AS SELECT id, xmin::text AS x FROM live_entries");
    for (int open = 0; open < 2; ++open) {  // converted, then opened as it is
      this->reopen();
      EXPECT_EQ(seen(), before);
    }
    TypeParam::exec(this->m_dir.path(),
                    "DO $$ BEGIN IF EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'entries' "
                    "AND column_name IN ('tsv', 'tags')) THEN RAISE EXCEPTION 'entries keeps its copies'; END IF; "
                    "IF EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'entries'::regclass AND NOT tgisinternal) "
                    "OR to_regproc('beamflow_live_entries') IS NOT NULL THEN RAISE EXCEPTION 'triggers left'; END IF; "
                    "IF (SELECT value FROM catalog_meta WHERE name = 'schema_version') <> 11 OR (SELECT count(*) FROM "
                    "before_live) <> 10 OR EXISTS (SELECT 1 FROM before_live b FULL JOIN live_entries l USING (id) "
                    "WHERE b.id IS NULL OR l.id IS NULL) THEN RAISE EXCEPTION 'other live rows'; END IF; END $$");
    this->m_catalog->set_status("ark:/99999/c", 1, EntryStatus::Published, "", "olga");
    this->m_catalog->set_status("ark:/99999/t1", 1, EntryStatus::Withdrawn, "gone", "alice");
    this->m_catalog->set_status("ark:/99999/d", 1, EntryStatus::Withdrawn, "gone", "olga");
    this->ingest({version("ark:/99999/a", 3, EntryStatus::Published)});
    const auto r = this->search({{"sort", {{{"field_name", "identifier"}}}}, {"limit", 100}});
    std::string ids;
    for (const auto& h : r.hits) ids += h.entry.identifier.substr(11) + "v" + std::to_string(h.entry.version) + " ";
    EXPECT_EQ(ids, "av3 cv1 t2v1 t3v1 t4v1 t5v1 t6v1 t7v1 t8v1 ");
    EXPECT_EQ(this->search({{"q", "layered"}}).total, 2);
  }
}

// Terms facets are counted from the packed values and only the buckets
// shown are named: any field is facetable (a title, one value per entry),
// equal counts are ordered by their text however many tie at the cut,
// and one field can be asked for twice with different sizes.
TYPED_TEST(CatalogSuite, TermsFacetsOnAnyFieldOrderTiesByTheirText) {
  std::vector<Entry> es;
  auto add = [&](const char* id, const char* title, std::vector<std::string> elements) {
    Json c = metadata(title);
    c["domain"] = {{"elements", elements}};
    es.push_back(entry(id, c));
  };
  add("ark:/99999/f1", "Zinc scan", {"Fe"});
  add("ark:/99999/f2", "Alpha scan", {"Fe", "Ni"});
  add("ark:/99999/f3", "Beta scan", {"Ni"});
  add("ark:/99999/f4", "Alpha scan", {"Cu"});
  add("ark:/99999/f5", "Gamma scan", {"Zn", "Al"});
  this->ingest(es);
  const auto r = this->search(
      {{"q", "scan"},
       {"facets",
        {{{"field_name", "dc.titles.title"}, {"size", 3}},
         {{"field_name", "domain.elements"}},
         {{"name", "top"}, {"field_name", "domain.elements"}, {"size", 1}},
         {{"field_name", "domain.missing"}}}}});
  const Json g = to_gmeta(r)["facet_results"];
  EXPECT_EQ(g[0]["buckets"], Json::parse(R"([{"value":"Alpha scan","count":2},{"value":"Beta scan","count":1},{"value":"Gamma scan","count":1}])"));
  EXPECT_EQ(g[1]["buckets"], Json::parse(R"([{"value":"Fe","count":2},{"value":"Ni","count":2},{"value":"Al","count":1},{"value":"Cu","count":1},{"value":"Zn","count":1}])"));
  EXPECT_EQ(g[2]["name"], "top");
  EXPECT_EQ(g[2]["buckets"], Json::parse(R"([{"value":"Fe","count":2}])"));
  EXPECT_EQ(g[3]["buckets"], Json::array());
}

// A facets column changed behind beamflow's back is a clear error naming
// the row, never a read past its end.
TYPED_TEST(CatalogSuite, ADamagedFacetsColumnIsAClearError) {
  Json c = metadata("Damaged scan");
  c["domain"] = {{"elements", {"Fe"}}};
  this->ingest({entry("ark:/99999/dmg", c)});
  if constexpr (std::is_same_v<TypeParam, SqliteBackend>) TypeParam::exec(this->m_dir.path(), "UPDATE entries SET facets = x'0102030405ff'");
  else TypeParam::exec(this->m_dir.path(), "UPDATE live_entries SET facets = '\\x0102030405ff'::bytea");
  EXPECT_EQ(this->search({{"q", "damaged"}}).total, 1);  // no terms facet: the column is not read
  expect_error([&] { this->search({{"q", "damaged"}, {"facets", {{{"field_name", "domain.elements"}}}}}); }, "catalog.db",
               {"cannot be read: its facets column is cut short", "row=", "column=facets"});
}

TYPED_TEST(CatalogSuite, RepeatedRequestReturnsTheFirstEntry) {
  PublishRequest r;
  r.source = this->source("scan", {{"a", "1"}});
  r.metadata = metadata();
  r.request_id = "run-1/Publish/0";
  const Entry a = this->m_datasets->publish(r, user("alice"));
  const Entry b = this->m_datasets->publish(r, user("alice"));
  EXPECT_EQ(a.identifier, b.identifier);
  EXPECT_EQ(b.version, 1);
}

// Issue 9 §3: JSON nested 100,000 deep, as a marker (user input) or in a
// stored row (a database changed behind beamflow's back), is refused by the
// depth-limited parser under the place's own id; nothing crashes.
TYPED_TEST(CatalogSuite, DeeplyNestedJsonInAMarkerOrARowIsAClearError) {
  std::string marker;  // base64url of 100,002 '[' then as many ']'
  for (int i = 0; i < 33'334; ++i) marker += "W1tb";
  for (int i = 0; i < 33'334; ++i) marker += "XV1d";
  expect_error([&] { this->search({{"marker", marker}}); }, "catalog.cursor.invalid",
               {"marker: not a cursor this catalog issued: the document nests deeper than 512 levels", "limit=512"});

  const Entry e = this->publish("deep", metadata());
  this->m_datasets->put_collection({"deep", Json(), false, {}}, Identity{"root", {}, true});
  const std::string deep = "'" + std::string(100'000, '[') + std::string(100'000, ']') + "'";
  TypeParam::exec(this->m_dir.path(), "UPDATE entries SET content = " + deep);
  TypeParam::exec(this->m_dir.path(), "UPDATE collections SET schema = " + deep);
  expect_error([&] { this->m_datasets->describe(e.identifier, 0, user("bob")); }, "catalog.db",
               {"content column: the document nests deeper than 512 levels", "row="});
  expect_error([&] { this->search(Json::object()); }, "catalog.db", {"nests deeper than 512 levels"});
  expect_error([&] { this->m_datasets->collection("deep"); }, "catalog.db",
               {"schema column: the document nests deeper than 512 levels", "collection=deep"});
}

// Issue 9 §5: beamflow's own catalog state is owner-only whatever the
// umask: $BEAMFLOW_HOME as the default catalog creates it, the SQLite file
// with its -wal and -shm, the storage's .staging folder. A home that others
// may write to is refused. (Published bags are user data: not checked.)
TEST(OwnerOnly, CatalogStateIsOwnerOnlyWhateverTheUmask) {
  ScratchDir dir{"beamflow-catalog-"};
  const auto home = dir.path() / "home" / "nested";
  ::setenv("BEAMFLOW_HOME", home.c_str(), 1);
  ::unsetenv("BEAMFLOW_CATALOG");
  const mode_t old = ::umask(0);
  const std::string location = default_catalog_location();
  {
    auto catalog = open_catalog(location);
    Datasets datasets(*catalog, dir.path() / "storage");
    std::filesystem::create_directories(dir.path() / "src");
    std::ofstream(dir.path() / "src" / "a.txt") << "alpha";
    PublishRequest r;
    r.source = dir.path() / "src";
    r.metadata = metadata();
    r.visible_to = {"public"};
    datasets.publish(r, user("alice"));
    ::umask(old);
    const auto owner_only = std::filesystem::perms::owner_read | std::filesystem::perms::owner_write;
    for (const char* f : {"catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm"})
      EXPECT_EQ(std::filesystem::status(home / f).permissions() & std::filesystem::perms::all, owner_only) << f;
  }
  ::umask(old);
  for (const auto& d : {dir.path() / "home", home, dir.path() / "storage" / ".staging"})
    EXPECT_EQ(std::filesystem::status(d).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_all)
        << d;
  std::filesystem::permissions(home, std::filesystem::perms::all);
  expect_error([] { default_catalog_location(); }, "run.home_shared", {home.string()});
  ::unsetenv("BEAMFLOW_HOME");
}

// The SQLite catalog checkpoints its WAL on a thread of its own, not in the
// commit: the database file must still receive the committed pages while
// the catalog stays open (a WAL that only grew would hold every entry ever
// ingested until the last connection closed), and every entry stays there.
TEST(SqliteWal, CommittedPagesReachTheDatabaseFileWhileTheCatalogIsOpen) {
  ScratchDir dir{"beamflow-catalog-"};
  const auto file = dir.path() / "catalog.sqlite";
  const std::string words = [] {
    std::string w;
    for (int i = 0; i < 400; ++i) w += "word" + std::to_string(i * 7919 % 1000) + " ";
    return w;
  }();
  {
    auto catalog = open_catalog("sqlite:" + file.string());
    for (int batch = 0; batch < 2; ++batch) {
      std::vector<Entry> es;
      for (int i = 0; i < 1000; ++i) {
        Json content = metadata("Run " + std::to_string(batch * 1000 + i));
        content["domain"] = {{"notes", words + std::to_string(i)}};
        es.push_back(entry("ark:/99999/w" + std::to_string(batch * 1000 + i), std::move(content)));
      }
      catalog->ingest(es);
    }
    // Each batch commits well over SQLite's 1,000-frame threshold (4 MB of
    // distinct pages), so a checkpoint of either grows the file past 4 MB.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::filesystem::file_size(file) < (4u << 20) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_GE(std::filesystem::file_size(file), 4u << 20);
  }
  auto catalog = open_catalog("sqlite:" + file.string());
  Query q;
  q.q = "word0";
  EXPECT_EQ(catalog->search(q, user("bob")).total, 2000);
}

// A raw connection to a SQLite catalog file, with beamflow's rank function.
struct RawSqlite {
  explicit RawSqlite(const std::filesystem::path& file) {
    EXPECT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
    EXPECT_TRUE(detail::register_fts_rank(db));
  }
  ~RawSqlite() { sqlite3_close(db); }
  RawSqlite(const RawSqlite&) = delete;
  RawSqlite& operator=(const RawSqlite&) = delete;
  void exec(const std::string& sql) {
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "") << " in " << sql;
    sqlite3_free(err);
  }
  std::int64_t integer(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    EXPECT_EQ(sqlite3_step(s), SQLITE_ROW) << sqlite3_errmsg(db);
    const auto v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
  }
  sqlite3* db = nullptr;
};

// Entries whose texts differ in length and in how often the searched
// words occur (the two things bm25 weighs), some with an older version.
std::vector<Entry> ranked_entries(int n) {
  std::vector<Entry> es;
  for (int i = 0; i < n; ++i) {
    std::string notes;
    for (int k = 0; k < 3 + i % 17; ++k) notes += std::string(k % 3 ? "steel " : "") + "w" + std::to_string((i * 31 + k * 7) % 50) + " ";
    Json content = metadata("Scan " + std::to_string(i) + (i % 4 ? " steel" : " copper"));
    content["domain"] = {{"notes", notes}, {"elements", {i % 2 ? "Fe" : "Cu"}}};
    es.push_back(entry("ark:/99999/r" + std::to_string(i % (n - 10)), std::move(content)));
    es.back().version = 1 + i / (n - 10);
  }
  return es;
}

// A SQLite search ranks with beamflow_bm25: FTS5's bm25 computed from the
// document-size record kept in the hit's live_entries row (schema version
// 6) instead of probing fts_docsize for it. Its score is bm25's bit for
// bit, for one word or several, with and without column weights, over
// rows of different lengths; it reads the kept record (a changed record
// changes the score) and asks FTS5 as bm25 does when the record is not one.
TEST(SqliteRank, TheSearchRankIsBm25BitForBit) {
  ScratchDir dir{"beamflow-catalog-"};
  const auto file = dir.path() / "catalog.sqlite";
  {
    auto catalog = open_catalog("sqlite:" + file.string());
    auto es = ranked_entries(300);
    catalog->ingest(es);
  }
  RawSqlite raw(file);
  EXPECT_EQ(raw.integer("SELECT count(*) FROM live_entries"), 290);
  EXPECT_EQ(raw.integer("SELECT count(*) FROM live_entries JOIN fts_docsize d ON d.id = live_entries.id WHERE fts_size = d.sz"), 290);
  const char* sql =
      "SELECT e.id, bm25(fts, 1.0, 0.0), beamflow_bm25(fts, e.fts_size, 1.0, 0.0), bm25(fts), "
      "beamflow_bm25(fts, e.fts_size), bm25(fts, 2.5, 0.5), beamflow_bm25(fts, e.fts_size, 2.5, 0.5) "
      "FROM fts JOIN live_entries e ON e.id = fts.rowid WHERE fts MATCH ?";
  // The rows whose two scores differ in any bit, and how many rows matched.
  auto compare = [&](const std::string& match) {
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(raw.db, sql, -1, &s, nullptr), SQLITE_OK) << sqlite3_errmsg(raw.db);
    sqlite3_bind_text(s, 1, match.c_str(), -1, SQLITE_TRANSIENT);
    std::set<std::int64_t> differ;
    int rows = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
      ++rows;
      for (int c = 1; c < 7; c += 2) {
        const double theirs = sqlite3_column_double(s, c), ours = sqlite3_column_double(s, c + 1);
        if (std::memcmp(&theirs, &ours, sizeof theirs) != 0) differ.insert(sqlite3_column_int64(s, 0));
      }
    }
    EXPECT_EQ(sqlite3_finalize(s), SQLITE_OK) << sqlite3_errmsg(raw.db);
    return std::make_pair(differ, rows);
  };
  for (const char* match : {"body : steel", "body : w7", "body : (steel w3)", "body : (copper OR w11)", "steel",
                            "body : \"steel w1\"", "body : (w1* NOT w13)"}) {
    const auto [differ, rows] = compare(match);
    EXPECT_GT(rows, 0) << match;
    EXPECT_TRUE(differ.empty()) << match << ": " << differ.size() << " of " << rows << " rows differ";
  }
  const std::int64_t changed = raw.integer("SELECT max(id) FROM live_entries"), damaged = changed - 1;
  raw.exec("UPDATE live_entries SET fts_size = x'6400' WHERE id = " + std::to_string(changed));
  raw.exec("UPDATE live_entries SET fts_size = x'64' WHERE id = " + std::to_string(damaged));
  EXPECT_EQ(compare("body : steel").first, std::set<std::int64_t>{changed});
}

// What searches for `words` answer bob, one line a search: the total, then
// each hit's identifier (after "ark:/99999/") and score to 17 digits.
std::string ranked_answers(Catalog& catalog, std::initializer_list<const char*> words) {
  std::string s;
  for (const char* q : words) {
    Query query;
    query.q = q;
    query.limit = 50;
    const auto r = catalog.search(query, user("bob"));
    s += std::to_string(r.total) + ":";
    for (const auto& h : r.hits) {
      char score[32];
      std::snprintf(score, sizeof score, "%.17g", h.score);
      s += " " + h.entry.identifier.substr(11) + "=" + score;
    }
    s += "\n";
  }
  return s;
}

// Schema version 6 keeps each live entry's FTS5 document-size record in
// live_entries. A version-5 catalog (turned back into that layout here)
// gets them copied from fts_docsize when opened, in the opening
// transaction: searches rank and answer as before, and entries that
// become live later (an approval) get theirs as in a new catalog.
TEST(SqliteRank, AVersion5CatalogGetsItsDocumentSizesWhenOpened) {
  ScratchDir dir{"beamflow-catalog-"};
  const auto file = dir.path() / "catalog.sqlite";
  auto ranked = [](Catalog& catalog) { return ranked_answers(catalog, {"steel", "w7", "copper w11"}); };
  std::string before;
  {
    auto catalog = open_catalog("sqlite:" + file.string());
    auto es = ranked_entries(120);
    es.back().status = EntryStatus::Pending;
    catalog->ingest(es);
    before = ranked(*catalog);
  }
  {
    RawSqlite raw(file);
    raw.exec(version_7_layout() + "DROP TRIGGER live_entries_update; ALTER TABLE live_entries DROP COLUMN fts_size; "
             "CREATE TRIGGER live_entries_update AFTER UPDATE ON entries BEGIN "
             "DELETE FROM live_entries WHERE id = old.id; "
             "INSERT INTO live_entries SELECT new.id, new.public, new.year, new.published_ms, new.identifier, new.title, "
             "new.facets WHERE new.status = 'published' AND new.latest = 1; END; PRAGMA user_version = 5;");
  }
  for (int open = 0; open < 2; ++open) {  // converted, then opened as it is
    auto catalog = open_catalog("sqlite:" + file.string());
    EXPECT_EQ(ranked(*catalog), before);
  }
  {
    RawSqlite raw(file);
    EXPECT_EQ(raw.integer("PRAGMA user_version"), 10);
    EXPECT_EQ(raw.integer("SELECT count(*) FROM live_entries JOIN fts_docsize d ON d.id = live_entries.id "
                          "WHERE fts_size = d.sz"), raw.integer("SELECT count(*) FROM live_entries"));
  }
  auto catalog = open_catalog("sqlite:" + file.string());
  catalog->set_status("ark:/99999/r9", 2, EntryStatus::Published, "", "olga");
  RawSqlite raw(file);
  EXPECT_EQ(raw.integer("SELECT count(*) FROM live_entries JOIN fts_docsize d ON d.id = live_entries.id "
                        "WHERE fts_size = d.sz AND live_entries.id IN (SELECT id FROM live_names "
                        "WHERE identifier = 'ark:/99999/r9')"), 1);
  EXPECT_EQ(raw.integer("SELECT count(*) FROM live_entries WHERE fts_size IS NULL"), 0);
}

// Schema version 10: the full-text index merges 8 segments of a level into
// one of the next (FTS5's automerge, in the fts table's configuration)
// instead of 4. A new catalog has it; a version-9 catalog (the setting
// taken out again here) gets it when opened and answers as before, and
// what is ingested after is found.
TEST(SqliteFts, ACatalogMerges8SegmentsALevelAndAVersion9CatalogGetsItWhenOpened) {
  ScratchDir dir{"beamflow-catalog-"};
  const auto file = dir.path() / "catalog.sqlite";
  const std::string automerge = "SELECT coalesce((SELECT v FROM fts_config WHERE k = 'automerge'), 0)";
  auto found = [](Catalog& catalog) { return ranked_answers(catalog, {"steel", "w7", "late"}); };
  std::string before;
  {
    auto catalog = open_catalog("sqlite:" + file.string());
    auto es = ranked_entries(120);
    catalog->ingest(es);
    before = found(*catalog);
  }
  {
    RawSqlite raw(file);
    EXPECT_EQ(raw.integer("PRAGMA user_version"), 10);
    EXPECT_EQ(raw.integer(automerge), 8);
    raw.exec("DELETE FROM fts_config WHERE k = 'automerge'; PRAGMA user_version = 9;");
    EXPECT_EQ(raw.integer(automerge), 0);
  }
  for (int open = 0; open < 2; ++open) {  // converted, then opened as it is
    auto catalog = open_catalog("sqlite:" + file.string());
    EXPECT_EQ(found(*catalog), before);
  }
  {
    RawSqlite raw(file);
    EXPECT_EQ(raw.integer("PRAGMA user_version"), 10);
    EXPECT_EQ(raw.integer(automerge), 8);
  }
  auto catalog = open_catalog("sqlite:" + file.string());
  std::vector<Entry> late{entry("ark:/99999/late1", metadata("Late steel scan"))};
  catalog->ingest(late);
  const std::string after = found(*catalog);
  EXPECT_NE(after, before);
  EXPECT_NE(after.find("1: late1="), std::string::npos) << after;
}

// The elements facet of a search for "coded", as "value:count ...".
std::string element_counts(Catalog& catalog) {
  const auto r = catalog.search(parse_query({{"q", "coded"}, {"facets", {{{"field_name", "domain.elements"}}}}}),
                                user("bob"));
  std::string s;
  for (const auto& b : r.facets.at(0).buckets) s += b.value.get<std::string>() + ":" + std::to_string(b.count) + " ";
  return s;
}

Entry coded_entry(int i, std::vector<std::string> elements) {
  Json c = metadata("Coded scan " + std::to_string(i));
  c["domain"] = {{"elements", std::move(elements)}};
  return entry("ark:/99999/c" + std::to_string(i), c);
}

// Schema version 7: a facet value the catalog has given a code is stored
// as that code, a byte or two, where the packed column spent 13 bytes on
// a field's first value and 8 on each other: a live_entries row a search
// reads a hit is that much smaller. Counts are as before.
TEST(SqliteFacetCodes, AFacetValueIsStoredAsItsCodeAndCountedAsBefore) {
  ScratchDir dir{"beamflow-catalog-"};
  const auto file = dir.path() / "catalog.sqlite";
  {
    auto catalog = open_catalog("sqlite:" + file.string());
    std::vector<Entry> es;
    for (int i = 0; i < 60; ++i) es.push_back(coded_entry(i, {i % 2 ? "Fe" : "Ni", i % 3 ? "Cu" : "Zn"}));
    catalog->ingest(es);
    EXPECT_EQ(element_counts(*catalog), "Cu:40 Fe:30 Ni:30 Zn:20 ");
  }
  RawSqlite raw(file);
  // ~20 values an entry, a byte or two each (packed: over 200 bytes).
  EXPECT_LE(raw.integer("SELECT max(length(facets)) FROM live_entries"), 40);
  EXPECT_GT(raw.integer("SELECT count(*) FROM facet_codes"), 60);
}

// A field gives codes to its first kPerField values only; a column holding
// coded and uncoded values counts each value as the packed column does.
TEST(SqliteFacetCodes, ValuesBeyondAFieldsCodesKeepTheirHashes) {
  detail::FacetCodes codes;
  auto value = [](const std::string& field, const std::string& text) {
    return detail::FacetValue{field_hash(field), field_value_hash(field, text)};
  };
  for (std::size_t i = 0; i <= detail::FacetCodes::kPerField; ++i) codes.give(value("f", "v" + std::to_string(i)));
  codes.give(value("g", "w"));
  EXPECT_EQ(codes.size(), detail::FacetCodes::kPerField + 1);
  const auto last = value("f", "v" + std::to_string(detail::FacetCodes::kPerField));
  EXPECT_EQ(codes.code_of(last), 0u);
  EXPECT_EQ(codes.code_of(value("g", "w")), detail::FacetCodes::kPerField + 1);
  const std::vector<detail::FacetValue> both{value("f", "v1"), last, value("g", "w")};
  EXPECT_EQ(detail::code_facet_values(both, codes).size(), 1u + 13u + 2u);
  const Query q = parse_query({{"facets", {{{"field_name", "f"}}, {{"field_name", "g"}}}}});
  detail::TermsCounter counter(q.facets);
  detail::count_coded_facet_values(detail::code_facet_values(both, codes), codes, 1, counter);
  detail::count_coded_facet_values(detail::code_facet_values({last}, codes), codes, 2, counter);
  const detail::FieldTexts texts = [&](const std::vector<detail::FieldKey>& keys) {
    std::map<detail::FieldKey, std::vector<std::string>> out;
    for (const auto& k : keys) out[k] = {"v1", "v" + std::to_string(detail::FacetCodes::kPerField), "w"};
    return out;
  };
  const auto f = counter.buckets(0, texts);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].value, "v" + std::to_string(detail::FacetCodes::kPerField));
  EXPECT_EQ(f[0].count, 2);
  EXPECT_EQ(f[1].value, "v1");
  EXPECT_EQ(counter.buckets(1, texts).at(0).count, 1);
  codes.truncate(1);
  EXPECT_EQ(codes.code_of(value("f", "v1")), 0u);
  EXPECT_EQ(codes.code_of(value("g", "w")), 0u);
}

// Codes given by an ingest that rolls back are forgotten with it, and a
// catalog reads the codes another one (another process) gave before
// giving its own: each code names one value whoever wrote it.
TEST(SqliteFacetCodes, CodesOfARolledBackIngestAndOfAnotherWriterAreRight) {
  ScratchDir dir{"beamflow-catalog-"};
  const auto path = "sqlite:" + (dir.path() / "catalog.sqlite").string();
  auto a = open_catalog(path);
  auto b = open_catalog(path);
  std::vector<Entry> first{coded_entry(1, {"Fe"})};
  a->ingest(first);
  std::vector<Entry> failing{coded_entry(2, {"Xe"}), coded_entry(1, {"Fe"})};  // the second is a conflict
  EXPECT_THROW(a->ingest(failing), Error);
  std::vector<Entry> later{coded_entry(3, {"Xe", "Fe"})};
  a->ingest(later);
  std::vector<Entry> other{coded_entry(4, {"Ni", "Xe"})};
  b->ingest(other);
  std::vector<Entry> again{coded_entry(5, {"Ni", "Kr"})};
  a->ingest(again);
  const std::string expected = "Fe:2 Ni:2 Xe:2 Kr:1 ";
  EXPECT_EQ(element_counts(*a), expected);
  EXPECT_EQ(element_counts(*b), expected);
  EXPECT_EQ(element_counts(*open_catalog(path)), expected);
}

// A version-6 catalog (packed facets, no facet_codes) has its entries'
// facets coded from their content when opened, and live_entries made
// again: facet counts as before, then as in a new catalog.
TEST(SqliteFacetCodes, AVersion6CatalogHasItsFacetsCodedWhenOpened) {
  ScratchDir dir{"beamflow-catalog-"};
  const auto file = dir.path() / "catalog.sqlite";
  std::vector<Entry> es;
  for (int i = 0; i < 20; ++i) es.push_back(coded_entry(i, {i % 2 ? "Fe" : "Ni"}));
  open_catalog("sqlite:" + file.string())->ingest(es);
  {
    RawSqlite raw(file);
    std::string sql = version_7_layout() + "DROP TABLE facet_codes; ";
    for (const auto& e : es) {
      std::string hex;
      for (unsigned char c : detail::pack_facet_values(index_terms(e))) {
        char buf[3];
        std::snprintf(buf, sizeof buf, "%02x", c);
        hex += buf;
      }
      sql += "UPDATE entries SET facets = x'" + hex + "' WHERE identifier = '" + e.identifier + "'; ";
    }
    raw.exec(sql + "PRAGMA user_version = 6;");
    EXPECT_GT(raw.integer("SELECT min(length(facets)) FROM live_entries"), 100);
  }
  auto catalog = open_catalog("sqlite:" + file.string());
  EXPECT_EQ(element_counts(*catalog), "Fe:10 Ni:10 ");
  std::vector<Entry> more{coded_entry(30, {"Fe"})};
  catalog->ingest(more);
  EXPECT_EQ(element_counts(*catalog), "Fe:11 Ni:10 ");
  RawSqlite raw(file);
  EXPECT_EQ(raw.integer("PRAGMA user_version"), 10);
  EXPECT_LE(raw.integer("SELECT max(length(facets)) FROM live_entries"), 40);
  EXPECT_EQ(raw.integer("SELECT count(*) FROM live_entries"), 21);
}

// Codes given by an ingest that rolls back are forgotten with it, and a
// catalog reads the codes another one (another connection or process)
// gave before giving its own: each code names one value whoever wrote it
// (PostgreSQL: the writers take turns under an advisory lock).
TYPED_TEST(CatalogSuite, FacetCodesOfARolledBackIngestAndOfAnotherWriterAreRight) {
  Catalog& a = *this->m_catalog;
  auto b = open_catalog(TypeParam::location(this->m_dir.path()));
  std::vector<Entry> first{coded_entry(1, {"Fe"})};
  a.ingest(first);
  std::vector<Entry> failing{coded_entry(2, {"Xe"}), coded_entry(1, {"Fe"})};  // the second is a conflict
  EXPECT_THROW(a.ingest(failing), Error);
  std::vector<Entry> other{coded_entry(4, {"Ni", "Kr"})};
  b->ingest(other);
  std::vector<Entry> later{coded_entry(3, {"Xe", "Fe"})};
  a.ingest(later);
  std::vector<Entry> again{coded_entry(5, {"Ni", "Xe"})};
  b->ingest(again);
  const std::string expected = "Fe:2 Ni:2 Xe:2 Kr:1 ";
  EXPECT_EQ(element_counts(a), expected);
  EXPECT_EQ(element_counts(*b), expected);
  EXPECT_EQ(element_counts(*open_catalog(TypeParam::location(this->m_dir.path()))), expected);
}

// A terms facet on a field that has used up its FacetCodes::kPerField
// codes (here the title: every entry's is new) counts every value,
// coded or not, from the entries rows: the 4 entries past the codes share
// a title, which tops the facet; the other facet counts as before.
TYPED_TEST(CatalogSuite, ATermsFacetOnAFieldPastItsCodesCountsEveryValue) {
  std::vector<Entry> es;
  const int n = static_cast<int>(detail::FacetCodes::kPerField) + 4;
  for (int i = 0; i < n; ++i) {
    Json c = metadata(i < n - 4 ? "Uncoded scan " + std::to_string(i) : std::string("Uncoded late scan"));
    c["domain"] = {{"elements", {i % 2 ? "Fe" : "Ni"}}};
    es.push_back(entry("ark:/99999/u" + std::to_string(i), c));
  }
  this->ingest(es);
  const auto r = this->search({{"q", "uncoded"},
                               {"facets", {{{"field_name", "dc.titles.title"}, {"size", 2}},
                                           {{"field_name", "domain.elements"}}}}});
  EXPECT_EQ(r.total, n);
  const Json g = to_gmeta(r)["facet_results"];
  EXPECT_EQ(g[0]["buckets"], Json::parse(R"([{"value":"Uncoded late scan","count":4},{"value":"Uncoded scan 0","count":1}])"));
  EXPECT_EQ(g[1]["buckets"], Json::parse(R"([{"value":"Fe","count":2050},{"value":"Ni","count":2050}])"));
}

// PostgreSQL schema version 9: a live row's facets column holds its coded
// values only (a byte or two each; packed, over 200 bytes), the codes in
// facet_codes; counts as before. A version-8 catalog (live rows with the
// packed values, no facet_codes) has its live rows made again when opened,
// coded: every search answers as before, later ingests count right.
TYPED_TEST(CatalogSuite, PostgresLiveRowsHoldCodedFacetValuesAndAVersion8CatalogGetsThem) {
  if constexpr (std::is_same_v<TypeParam, SqliteBackend>) {
    GTEST_SKIP() << "PostgreSQL's layout";
  } else {
    ingest_corpus(*this);
    std::vector<Entry> es;
    for (int i = 0; i < 60; ++i) es.push_back(coded_entry(i, {i % 2 ? "Fe" : "Ni", i % 3 ? "Cu" : "Zn"}));
    this->ingest(es);
    this->m_catalog->set_status("ark:/99999/c7", 1, EntryStatus::Withdrawn, "check", "olga");
    this->m_catalog->set_status("ark:/99999/c7", 1, EntryStatus::Published, "", "olga");
    auto seen = [&]() {
      std::string s = element_counts(*this->m_catalog);
      for (const Json& q : {Json{{"q", "coded"}}, Json{{"q", "cracks tomography steel"}},
                            Json{{"filters", {{{"field_name", "domain.elements"}, {"values", {"Fe"}}}}}}}) {
        Json full = q;
        full["facets"] = {{{"field_name", "domain.elements"}}, {{"field_name", "dc.titles.title"}, {"size", 3}}};
        s += scored_answer(this->search(full));
      }
      return s;
    };
    const std::string before = seen();
    EXPECT_EQ(element_counts(*this->m_catalog), "Cu:40 Fe:30 Ni:30 Zn:20 ");
    TypeParam::exec(this->m_dir.path(),
                    "DO $$ BEGIN IF (SELECT max(octet_length(facets)) FROM live_entries) > 40 OR (SELECT count(*) "
                    "FROM facet_codes) < 60 THEN RAISE EXCEPTION 'facets not coded'; END IF; END $$");
    this->m_datasets.reset();
    this->m_catalog.reset();
    // Version 8: the packed values (entries') in the live rows, no codes.
    TypeParam::exec(this->m_dir.path(),
                    "UPDATE live_entries l SET facets = e.facets FROM entries e WHERE e.id = l.id; "
                    "DROP TABLE facet_codes; UPDATE catalog_meta SET value = 8 WHERE name = 'schema_version'; "
                    "DO $$ BEGIN IF (SELECT min(octet_length(facets)) FROM live_entries) < 100 "
                    "THEN RAISE EXCEPTION 'not packed'; END IF; END $$");
    for (int open = 0; open < 2; ++open) {  // converted, then opened as it is
      this->reopen();
      EXPECT_EQ(seen(), before);
    }
    TypeParam::exec(this->m_dir.path(),
                    "DO $$ BEGIN IF (SELECT value FROM catalog_meta WHERE name = 'schema_version') <> 11 OR (SELECT "
                    "max(octet_length(facets)) FROM live_entries) > 40 OR (SELECT count(*) FROM live_entries) <> 68 OR "
                    "to_regclass('live_entries_tsv') IS NULL OR to_regclass('live_entries_tags') IS NULL "
                    "THEN RAISE EXCEPTION 'not version 11'; END IF; END $$");
    std::vector<Entry> more{coded_entry(60, {"Fe", "Xe"})};
    this->ingest(more);
    EXPECT_EQ(element_counts(*this->m_catalog), "Cu:40 Fe:31 Ni:30 Zn:20 Xe:1 ");
  }
}

// The identifiers of every page of a search for "named" sorted on `field`,
// followed by cursor `limit` at a time, as "id id ...".
std::string sorted_walk(Catalog& catalog, const std::string& field, bool descending) {
  std::string out, marker;
  for (int pages = 0; pages < 100; ++pages) {
    Json q = {{"q", "named"}, {"sort", {{{"field_name", field}, {"order", descending ? "desc" : "asc"}}}}, {"limit", 7}};
    if (!marker.empty()) q["marker"] = marker;
    const auto r = catalog.search(parse_query(q), user("bob"));
    for (const auto& h : r.hits) out += h.entry.identifier.substr(11) + " ";
    marker = r.marker;
    if (marker.empty()) break;
  }
  return out;
}

// The same, from the live entries themselves: by title or identifier,
// equal titles by row, as the search orders them.
std::string expected_walk(std::vector<Entry> live, const std::string& field, bool descending) {
  const auto key = [&](const Entry& e) {
    return field == "identifier" ? e.identifier : e.content["dc"]["titles"][0]["title"].get<std::string>();
  };
  std::sort(live.begin(), live.end(), [&](const Entry& a, const Entry& b) {
    if (key(a) != key(b)) return descending ? key(a) > key(b) : key(a) < key(b);
    return a.row < b.row;
  });
  std::string out;
  for (const auto& e : live) out += e.identifier.substr(11) + " ";
  return out;
}

// Whether live_names holds exactly live_entries' rows, each with its
// entry's identifier and title.
void expect_names_in_step(RawSqlite& raw) {
  const auto live = raw.integer("SELECT count(*) FROM live_entries");
  EXPECT_EQ(raw.integer("SELECT count(*) FROM live_names"), live);
  EXPECT_EQ(raw.integer("SELECT count(*) FROM live_names n JOIN live_entries l ON l.id = n.id JOIN entries e "
                        "ON e.id = n.id WHERE e.identifier = n.identifier AND e.title = n.title"), live);
}

// Schema version 8 keeps the identifier and title, which only a page
// sorted on them reads, in live_names instead of each live_entries row a
// search reads a hit. A version-7 catalog (turned back into that layout
// here) has them moved when opened: pages sorted on either, walked by
// cursor, come in the same order before and after, the order the live
// entries' titles and identifiers give; an approval and a withdrawal later
// keep live_names in step with live_entries.
TEST(SqliteNames, AVersion7CatalogHasItsNamesMovedWhenOpened) {
  ScratchDir dir{"beamflow-catalog-"};
  const auto file = dir.path() / "catalog.sqlite";
  std::vector<Entry> es;
  for (int i = 0; i < 40; ++i) {
    // Titles repeat (ties go by row); identifiers n0-n4 get a second version.
    es.push_back(entry("ark:/99999/n" + std::to_string(i < 35 ? 34 - i : i - 35),
                       metadata("Named scan " + std::string(1, static_cast<char>('a' + (i * 7) % 5)))));
    if (i >= 35) es.back().version = 2;
  }
  es[3].status = EntryStatus::Pending;
  open_catalog("sqlite:" + file.string())->ingest(es);
  // Versions 2 (entries 35-39) replace entries 30-34; entry 3 waits for approval.
  std::vector<Entry> live(es.begin(), es.begin() + 30);
  live.erase(live.begin() + 3);
  live.insert(live.end(), es.begin() + 35, es.end());
  const std::string sorts[] = {"dc.titles.title", "identifier"};
  std::string before;
  {
    auto catalog = open_catalog("sqlite:" + file.string());
    for (const auto& field : sorts)
      for (bool descending : {false, true}) {
        const std::string walk = sorted_walk(*catalog, field, descending);
        EXPECT_EQ(walk, expected_walk(live, field == "identifier" ? field : "title", descending)) << field;
        before += walk + "\n";
      }
  }
  {
    RawSqlite raw(file);
    raw.exec(version_7_layout());
  }
  for (int open = 0; open < 2; ++open) {  // converted, then opened as it is
    auto catalog = open_catalog("sqlite:" + file.string());
    std::string after;
    for (const auto& field : sorts)
      for (bool descending : {false, true}) after += sorted_walk(*catalog, field, descending) + "\n";
    EXPECT_EQ(after, before);
  }
  {
    RawSqlite raw(file);
    EXPECT_EQ(raw.integer("PRAGMA user_version"), 10);
    EXPECT_EQ(raw.integer("SELECT count(*) FROM pragma_table_info('live_entries') WHERE name IN ('identifier', 'title')"), 0);
    EXPECT_EQ(raw.integer("SELECT count(*) FROM live_entries"), 34);
    expect_names_in_step(raw);
  }
  auto catalog = open_catalog("sqlite:" + file.string());
  std::vector<Entry> pending{entry("ark:/99999/n99", metadata("Named scan z"))};
  pending[0].status = EntryStatus::Pending;
  catalog->ingest(pending);
  catalog->set_status("ark:/99999/n99", 1, EntryStatus::Published, "", "olga");
  catalog->set_status("ark:/99999/n20", 1, EntryStatus::Withdrawn, "", "olga");
  EXPECT_EQ(sorted_walk(*catalog, "dc.titles.title", true).substr(0, 4), "n99 ");
  RawSqlite raw(file);
  EXPECT_EQ(raw.integer("SELECT count(*) FROM live_entries"), 34);
  expect_names_in_step(raw);
}

// A catalog's ingest is one transaction: a process killed while it ingests
// leaves whole batches, their live_entries and live_names rows with them.
TEST(SqliteNames, AnIngestKilledMidwayLeavesWholeBatches) {
  ScratchDir dir{"beamflow-catalog-"};
  const auto file = dir.path() / "catalog.sqlite";
  constexpr int kBatch = 50;
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(ready[0]);
    try {
      auto catalog = open_catalog("sqlite:" + file.string());
      for (int b = 0; b < 100000; ++b) {
        std::vector<Entry> es;
        for (int k = 0; k < kBatch; ++k) es.push_back(coded_entry(b * kBatch + k, {k % 2 ? "Fe" : "Ni"}));
        catalog->ingest(es);
        if (b == 0 && write(ready[1], "x", 1) != 1) _exit(3);
      }
    } catch (...) {
      _exit(2);
    }
    _exit(0);
  }
  close(ready[1]);
  char byte = 0;
  ASSERT_EQ(read(ready[0], &byte, 1), 1);  // the first batch is in; kill it in a later one
  close(ready[0]);
  kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));
  auto catalog = open_catalog("sqlite:" + file.string());
  RawSqlite raw(file);
  const auto n = raw.integer("SELECT count(*) FROM entries");
  EXPECT_GE(n, kBatch);
  EXPECT_EQ(n % kBatch, 0);
  EXPECT_EQ(raw.integer("SELECT count(*) FROM live_entries"), n);
  expect_names_in_step(raw);
  EXPECT_EQ(element_counts(*catalog), "Fe:" + std::to_string(n / 2) + " Ni:" + std::to_string(n / 2) + " ");
}

// What the search checks its returned entries with, and what a wildcard
// filter on text reads: pure functions over an entry's content.
TEST(CatalogIndex, ExactFiltersAreCheckedAgainstTheEntrysValues) {
  Entry e = entry("ark:/99999/p1", metadata("Pure scan"));
  e.content["domain"] = {{"elements", {"Fe", "Ni"}}, {"beamline", "2-BM"}};
  auto filter = [](FilterKind kind, std::vector<std::string> values) {
    Filter f;
    f.kind = kind;
    f.field = "domain.elements";
    f.values = std::move(values);
    return f;
  };
  EXPECT_TRUE(detail::holds_exact_filters({filter(FilterKind::MatchAny, {"Cu", "Ni"})}, e));
  EXPECT_FALSE(detail::holds_exact_filters({filter(FilterKind::MatchAny, {"Cu"})}, e));
  EXPECT_TRUE(detail::holds_exact_filters({filter(FilterKind::MatchAll, {"Fe", "Ni"})}, e));
  EXPECT_FALSE(detail::holds_exact_filters({filter(FilterKind::MatchAll, {"Fe", "Cu"})}, e));
  Filter range = filter(FilterKind::Range, {});
  EXPECT_TRUE(detail::holds_exact_filters({range}, e));  // only exact filters are checked
  EXPECT_FALSE(detail::holds_exact_filters({range, filter(FilterKind::MatchAny, {"Fe"}), filter(FilterKind::MatchAny, {"Zn"})},
                                           e));
  // text_values lists what index_terms lists for a text field, and no number.
  e.content["domain"]["energy"] = 25;
  EXPECT_EQ(text_values(e.content, "domain.elements"), (std::vector<std::string>{"Fe", "Ni"}));
  EXPECT_EQ(text_values(e.content, "dc.titles.title"), (std::vector<std::string>{"Pure scan"}));
  EXPECT_TRUE(text_values(e.content, "domain.energy").empty());
  EXPECT_TRUE(text_values(e.content, "domain").empty());
  EXPECT_TRUE(text_values(e.content, "domain.elem").empty());
  // field_values: every kind, the catalog's own fields too.
  EXPECT_EQ(field_values(e, "domain.energy"), (std::vector<std::string>{"25"}));
  EXPECT_EQ(field_values(e, "identifier"), (std::vector<std::string>{"ark:/99999/p1"}));
  EXPECT_EQ(field_values(e, "domain.elements"), (std::vector<std::string>{"Fe", "Ni"}));
}

}  // namespace
}  // namespace beamflow::catalog::test
