// Metadata, identifiers, schemas, queries and plans: the pure parts of the
// catalog, each refusal checked for its id and the field it names.
#include <gtest/gtest.h>

#include <algorithm>

#include <functional>

#include "catalog/support/fixtures.hpp"
#include "jobs/catalog/bagit.hpp"
#include "jobs/catalog/facet_codes.hpp"
#include "jobs/catalog/identifier.hpp"
#include "jobs/catalog/json_schema.hpp"
#include "jobs/catalog/metadata.hpp"
#include "jobs/catalog/sql_plan.hpp"
#include "support/expect_error.hpp"

namespace beamflow::catalog::test {
namespace {

using beamflow::test::expect_error;

void refused(const std::function<void(Json&)>& change, const std::string& id, const std::string& field) {
  Json m = metadata();
  change(m);
  SCOPED_TRACE(field);
  expect_error([&] { check_metadata(m, Json()); }, id, {field + ":"});
  try {
    check_metadata(m, Json());
  } catch (const Error& e) {
    ASSERT_FALSE(e.context().empty());
    EXPECT_EQ(e.context()[0], (std::pair<std::string, std::string>{"field", field}));
  }
}

TEST(CatalogMetadata, CompleteMetadataPasses) { check_metadata(metadata(), Json()); }

TEST(CatalogMetadata, EveryMandatoryDataCiteFieldMissingIsNamed) {
  for (const char* f : {"creators", "titles", "publisher", "publicationYear", "types"})
    refused([&](Json& m) { m["dc"].erase(f); }, "dataset.metadata.missing", std::string("dc.") + f);
  refused([](Json& m) { m.erase("dc"); }, "dataset.metadata.missing", "dc");
  refused([](Json& m) { m["dc"]["creators"] = Json::array(); }, "dataset.metadata.missing", "dc.creators");
  refused([](Json& m) { m["dc"]["creators"][0].erase("name"); }, "dataset.metadata.missing", "dc.creators[0].name");
  refused([](Json& m) { m["dc"]["titles"][0]["title"] = "  "; }, "dataset.metadata.missing", "dc.titles[0].title");
  refused([](Json& m) { m["dc"]["publisher"] = ""; }, "dataset.metadata.missing", "dc.publisher");
  refused([](Json& m) { m["dc"]["types"].erase("resourceTypeGeneral"); }, "dataset.metadata.missing",
          "dc.types.resourceTypeGeneral");
}

TEST(CatalogMetadata, EveryWrongDataCiteFieldIsNamed) {
  refused([](Json& m) { m["dc"]["creators"] = "Curie"; }, "dataset.metadata.invalid", "dc.creators");
  refused([](Json& m) { m["dc"]["creators"][0]["nameType"] = "Robot"; }, "dataset.metadata.invalid",
          "dc.creators[0].nameType");
  refused([](Json& m) { m["dc"]["titles"][0]["title"] = 7; }, "dataset.metadata.invalid", "dc.titles[0].title");
  refused([](Json& m) { m["dc"]["publicationYear"] = "26"; }, "dataset.metadata.invalid", "dc.publicationYear");
  refused([](Json& m) { m["dc"]["publicationYear"] = 99999; }, "dataset.metadata.invalid", "dc.publicationYear");
  refused([](Json& m) { m["dc"]["publicationYear"] = 2026.5; }, "dataset.metadata.invalid", "dc.publicationYear");
  refused([](Json& m) { m["dc"]["types"]["resourceTypeGeneral"] = "Data"; }, "dataset.metadata.invalid",
          "dc.types.resourceTypeGeneral");
  refused([](Json& m) { m["dc"]["subjects"][0] = "tomography"; }, "dataset.metadata.invalid", "dc.subjects[0]");
  refused([](Json& m) { m["dc"]["dates"][0]["date"] = "30/11/2026"; }, "dataset.metadata.invalid", "dc.dates[0].date");
  refused([](Json& m) { m["dc"]["dates"][0]["date"] = "2026-02-30"; }, "dataset.metadata.invalid", "dc.dates[0].date");
  refused([](Json& m) { m["dc"]["dates"][0]["dateType"] = "Sometime"; }, "dataset.metadata.invalid",
          "dc.dates[0].dateType");
  refused([](Json& m) { m["dc"]["rightsList"][0] = Json::object(); }, "dataset.metadata.missing", "dc.rightsList[0].rights");
  refused([](Json& m) { m["dc"]["descriptions"][0]["descriptionType"] = "Summary"; }, "dataset.metadata.invalid",
          "dc.descriptions[0].descriptionType");
  refused([](Json& m) {
    m["dc"]["relatedIdentifiers"] = {{{"relatedIdentifier", "10.1234/x"}, {"relatedIdentifierType", "DOI"}, {"relationType", "Likes"}}};
  }, "dataset.metadata.invalid", "dc.relatedIdentifiers[0].relationType");
  refused([](Json& m) {
    m["dc"]["relatedIdentifiers"] = {{{"relatedIdentifier", "not a doi"}, {"relatedIdentifierType", "DOI"}, {"relationType", "Cites"}}};
  }, "dataset.identifier.invalid", "dc.relatedIdentifiers[0].relatedIdentifier");
  refused([](Json& m) { m["dc"]["titel"] = "typo"; }, "dataset.metadata.invalid", "dc.titel");
  refused([](Json& m) { m["extra"] = 1; }, "dataset.metadata.invalid", "extra");
  refused([](Json& m) { m["domain"] = "x"; }, "dataset.metadata.invalid", "domain");
  refused([](Json& m) { m["dc"]["identifier"] = {{"identifier", "ark:/99999/bf0001x"}, {"identifierType", "DOI"}}; },
          "dataset.identifier.invalid", "dc.identifier.identifier");
}

TEST(CatalogIdentifier, ArkMinterIsNoidCompatibleAndChecksItsCharacter) {
  const ArkMinter m("ark:/99999/bf");
  EXPECT_EQ(m.mint(1), "ark:/99999/bf0001" + std::string(1, noid_check_char("99999/bf0001")));
  EXPECT_NE(m.mint(1), m.mint(2));
  // NOID's published example: 13030/xf93gt2 has check character q.
  EXPECT_EQ(noid_check_char("13030/xf93gt2"), 'q');
  const std::string id = m.mint(12345);
  EXPECT_EQ(parse_identifier(id, "identifier", "ark:/99999/bf").value, id);
  std::string typo = id;
  typo[typo.size() - 2] = typo[typo.size() - 2] == 'b' ? 'c' : 'b';
  expect_error([&] { parse_identifier(typo, "identifier", "ark:/99999/bf"); }, "dataset.identifier.invalid",
               {"identifier", "check character"});
  expect_error([] { ArkMinter("ark:/12/x"); }, "dataset.identifier.invalid", {"ark_prefix", "NAAN"});
  expect_error([] { ArkMinter("ark:/99999/b-l"); }, "dataset.identifier.invalid", {"shoulder"});
}

TEST(CatalogIdentifier, ParsesArksAndDoisAndRefusesTheRest) {
  EXPECT_EQ(parse_identifier("doi:10.1234/ABC.5", "id").value, "10.1234/ABC.5");
  EXPECT_EQ(parse_identifier("https://doi.org/10.1234/x", "id").type, "DOI");
  EXPECT_EQ(parse_identifier("ark:12345/x9", "id").value, "ark:/12345/x9");
  for (const char* bad : {"", "hello", "10.abc/x", "10.1234/", "ark:/123/x", "ark:/12345/", "ark:/12345/a b", "10.1234/a b"})
    expect_error([&] { parse_identifier(bad, "identifier"); }, "dataset.identifier.invalid", {"identifier:"});
}

TEST(CatalogSchema, ValidatesTheSupportedKeywordsAndRefusesOthers) {
  const Json s = Json::parse(R"({"type":"object","additionalProperties":false,"required":["a"],
    "properties":{"a":{"type":"integer","minimum":1},"b":{"enum":["x","y"]},"c":{"type":"string","format":"date"},
    "d":{"type":"array","uniqueItems":true,"maxItems":2}}})");
  check_schema(s);
  EXPECT_FALSE(validate_against(s, {{"a", 2}, {"b", "x"}, {"c", "2026-12-03"}, {"d", {1, 2}}}));
  auto at = [&](Json v) { return validate_against(s, v).value().pointer; };
  EXPECT_EQ(at(Json::object()), "/a");
  EXPECT_EQ(at({{"a", 0}}), "/a");
  EXPECT_EQ(at({{"a", 1.5}}), "/a");
  EXPECT_EQ(at({{"a", 1}, {"b", "z"}}), "/b");
  EXPECT_EQ(at({{"a", 1}, {"c", "2026-13-01"}}), "/c");
  EXPECT_EQ(at({{"a", 1}, {"d", {1, 1}}}), "/d/1");
  EXPECT_EQ(at({{"a", 1}, {"e", 1}}), "/e");
  expect_error([] { check_schema({{"oneOf", Json::array()}}); }, "catalog.collection.schema", {"oneOf"});
  expect_error([] { check_schema({{"type", "text"}}); }, "catalog.collection.schema", {"schema/type"});
  expect_error([] { check_schema({{"pattern", "("}}); }, "catalog.collection.schema", {"schema/pattern"});
}

TEST(CatalogQuery, RefusalsNameTheField) {
  auto bad = [](const std::string& text, const std::string& field) {
    SCOPED_TRACE(text);
    expect_error([&] { parse_query(Json::parse(text)); }, "catalog.query.invalid", {field + ":"});
  };
  bad(R"({"q": 5})", "q");
  bad(R"({"limit": 0})", "query.limit");
  bad(R"({"limit": 5000})", "query.limit");
  bad(R"({"offset": 10000})", "offset");
  bad(R"({"filters": [{"type": "near", "field_name": "a", "values": [1]}]})", "filters[0].type");
  bad(R"({"filters": [{"field_name": "a", "values": []}]})", "filters[0].values");
  bad(R"({"filters": [{"values": ["x"]}]})", "filters[0].field_name");
  bad(R"({"filters": [{"field_name": "a b", "values": ["x"]}]})", "filters[0].field_name");
  bad(R"({"filters": [{"type": "range", "field_name": "a", "values": [{"from": "soon"}]}]})", "filters[0].values[0].from");
  bad(R"({"filters": [{"type": "range", "field_name": "a", "values": [{"from": 1, "to": "2020"}]}]})", "filters[0].values[0]");
  bad(R"({"filters": [{"type": "like", "field_name": "a"}]})", "filters[0].value");
  bad(R"({"facets": [{"type": "numeric_histogram", "field_name": "a", "histogram_range": {"low": 5, "high": 1}}]})",
      "facets[0].histogram_range");
  bad(R"({"facets": [{"type": "date_histogram", "field_name": "a", "date_interval": "week"}]})", "facets[0].date_interval");
  bad(R"({"sort": [{"field_name": "domain.x"}]})", "sort[0].field_name");
  bad(R"({"sort": [{"field_name": "_score"}]})", "sort");
  bad(R"({"colour": 1})", "query.colour");
}

TEST(CatalogPlan, UserValuesAreBoundNeverSpliced) {
  const Query q = parse_query(Json::parse(R"({"q": "x'; DROP TABLE entries; --",
    "filters": [{"field_name": "dc.titles.title", "values": ["'; DELETE FROM fields; --"]},
                {"type": "like", "field_name": "domain.sample", "value": "50%_off*"}],
    "facets": [{"field_name": "domain.elements"}]})"));
  for (Dialect d : {Dialect::SQLite, Dialect::Postgres}) {
    const SearchPlan p = plan_search(q, Identity{"o'neil", {"g'roup"}, false}, d);
    for (const Sql* s : {&p.search}) {
      EXPECT_EQ(s->text.find("DROP"), std::string::npos);
      EXPECT_EQ(s->text.find("DELETE"), std::string::npos);
      EXPECT_EQ(s->text.find("o'neil"), std::string::npos);
      EXPECT_EQ(s->text.find("dc.titles.title"), std::string::npos);
      EXPECT_FALSE(s->params.empty());
    }
  }
  EXPECT_EQ(like_pattern("50%_off*"), "50\\%\\_off%");
  EXPECT_EQ(fts_expression("Steel tomo* x'y", Dialect::SQLite), "\"steel\" \"tomo\"* \"x\" \"y\"");
  EXPECT_EQ(fts_expression("Steel tomo* x'y", Dialect::Postgres), "'steel' & 'tomo':* & 'x' & 'y'");
  EXPECT_EQ(fts_expression(" ,; ", Dialect::SQLite), "");
}

// Exact filters match a token per (field, value) in the full-text index:
// "h" + the 64-bit FNV-1a hash in hex, the field and the value kept apart.
TEST(CatalogPlan, FilterTokensSeparateFieldAndValue) {
  EXPECT_EQ(filter_token("", ""), "haf63bd4c8601b7df");  // FNV-1a 64 of one NUL byte
  EXPECT_NE(filter_token("ab", "c"), filter_token("a", "bc"));
  EXPECT_NE(filter_token("domain.elements", "Fe"), filter_token("domain.elements", "fe"));
  const Query q = parse_query(Json::parse(R"({"filters": [{"field_name": "domain.elements", "values": ["Fe", "Ni"]}]})"));
  const SearchPlan p = plan_search(q, Identity{"u", {}, false}, Dialect::SQLite);
  const std::string match = "(tags : (\"" + filter_token("domain.elements", "Fe") + "\" OR \"" +
                            filter_token("domain.elements", "Ni") + "\"))";
  EXPECT_NE(std::find(p.search.params.begin(), p.search.params.end(), SqlValue(match)), p.search.params.end()) << match;
  // PostgreSQL (schema version 7): the hashes as signed 64-bit numbers in
  // a bigint[] that the entry's `tags` must overlap (match_any) or hold.
  const std::string hashes = "{" + std::to_string(static_cast<std::int64_t>(field_value_hash("domain.elements", "Fe"))) +
                             "," + std::to_string(static_cast<std::int64_t>(field_value_hash("domain.elements", "Ni"))) + "}";
  const SearchPlan pg = plan_search(q, Identity{"u", {}, false}, Dialect::Postgres);
  EXPECT_NE(std::find(pg.search.params.begin(), pg.search.params.end(), SqlValue(hashes)), pg.search.params.end()) << hashes;
  EXPECT_NE(pg.search.text.find("e.tags && $"), std::string::npos) << pg.search.text;
  const SearchPlan all = plan_search(
      parse_query(Json::parse(R"({"filters": [{"type": "match_all", "field_name": "domain.elements", "values": ["Fe", "Ni"]}]})")),
      Identity{"u", {}, false}, Dialect::Postgres);
  EXPECT_NE(all.search.text.find("e.tags @> $"), std::string::npos) << all.search.text;
}

// The matched set copies only what the page's sort reads, and the rank
// (bm25, ts_rank: a read per hit) is computed only when the page is
// ordered by it; the terms facets' packed values only with a terms facet.
TEST(CatalogPlan, TheMatchedSetHoldsOnlyWhatTheSortAndFacetsRead) {
  auto matched = [](const char* query, Dialect d) {
    const std::string sql = plan_search(parse_query(Json::parse(query)), Identity{"u", {}, false}, d).search.text;
    return sql.substr(0, sql.find(" FROM "));
  };
  for (Dialect d : {Dialect::SQLite, Dialect::Postgres}) {
    const char* rank = d == Dialect::SQLite ? "bm25(" : "ts_rank(";
    const std::string by_score = matched(R"({"q": "steel", "facets": [{"field_name": "domain.elements"}]})", d);
    EXPECT_NE(by_score.find(rank), std::string::npos) << by_score;
    EXPECT_NE(by_score.find("e.facets"), std::string::npos) << by_score;
    for (const char* column : {"e.year", "e.title", "e.published_ms", "e.identifier"})
      EXPECT_EQ(by_score.find(column), std::string::npos) << by_score;
    const std::string by_title = matched(R"({"q": "steel", "sort": [{"field_name": "dc.titles.title"}]})", d);
    EXPECT_EQ(by_title.find(rank), std::string::npos) << by_title;
    EXPECT_EQ(by_title.find("e.facets"), std::string::npos) << by_title;
    // SQLite reads the title from live_names (schema version 8), joined
    // only for a sort on the title or identifier.
    const char* title = d == Dialect::SQLite ? "n.title AS title" : "e.title AS title";
    EXPECT_NE(by_title.find(title), std::string::npos) << by_title;
    auto joins_names = [&](const char* query) {
      return plan_search(parse_query(Json::parse(query)), Identity{"u", {}, false}, d).search.text.find("live_names") !=
             std::string::npos;
    };
    EXPECT_EQ(joins_names(R"({"q": "steel", "sort": [{"field_name": "identifier"}]})"), d == Dialect::SQLite);
    EXPECT_EQ(joins_names(R"({"q": "steel", "sort": [{"field_name": "dc.titles.title"}]})"), d == Dialect::SQLite);
    EXPECT_FALSE(joins_names(R"({"q": "steel", "facets": [{"field_name": "domain.elements"}]})"));
    EXPECT_FALSE(joins_names(R"({"q": "steel", "sort": [{"field_name": "dc.publicationYear"}]})"));
    const std::string newest = matched(R"({"filters": [{"field_name": "domain.elements", "values": ["Fe"]}]})", d);
    EXPECT_NE(newest.find("e.published_ms AS published_ms"), std::string::npos) << newest;
    EXPECT_EQ(newest.find("score"), std::string::npos) << newest;
  }
}

// PostgreSQL's search statement carries the terms facets' packed values
// raw, in a last bytea column `fv` that the catalog reads in binary format
// (not as hex text in k0: twice the bytes, encoded by the server and
// decoded by the client a hit). Every part has the column; SQLite's
// statement is unchanged (it counts the values inside the match).
TEST(CatalogPlan, PostgresSendsThePackedFacetValuesRawInTheirOwnColumn) {
  const Query q = parse_query(Json::parse(R"({"q": "steel", "facets": [{"field_name": "domain.elements"},
    {"type": "numeric_histogram", "field_name": "domain.energy_kev", "histogram_range": {"low": 0, "high": 100}, "size": 4}]})"));
  const SearchPlan pg = plan_search(q, Identity{"u", {}, false}, Dialect::Postgres);
  const std::string& sql = pg.search.text;
  EXPECT_NE(sql.find(") SELECT part, seq, id, n, k0, fv FROM ("), std::string::npos) << sql;
  EXPECT_EQ(sql.find("encode("), std::string::npos) << sql;
  EXPECT_NE(sql.find(" UNION ALL SELECT " + std::to_string(pg.facet_values) +
                     ", 0, m.id, CAST(NULL AS BIGINT), CAST(NULL AS TEXT), m.facets FROM matched m"),
            std::string::npos)
      << sql;
  // The page, the total and the histogram: one NULL bytea each.
  std::size_t nulls = 0;
  for (std::size_t at = sql.find("CAST(NULL AS BYTEA)"); at != std::string::npos; at = sql.find("CAST(NULL AS BYTEA)", at + 1))
    ++nulls;
  EXPECT_EQ(nulls, 3u) << sql;
  const SearchPlan lite = plan_search(q, Identity{"u", {}, false}, Dialect::SQLite);
  EXPECT_EQ(lite.search.text.find("fv"), std::string::npos) << lite.search.text;
  EXPECT_EQ(lite.search.text.find("BYTEA"), std::string::npos) << lite.search.text;
}

// PostgreSQL with terms facets and no histogram facet: the statement is
// the matched set alone (its rows go to the client for the facets anyway),
// and the client takes the total and the page (page_of) as the page part
// did: after the cursor, by the sort keys in their directions, then the id.
TEST(CatalogPlan, PostgresTermsFacetsTakeThePageFromTheMatchedRows) {
  const Identity who{"u", {}, false};
  const SearchPlan pg = plan_search(
      parse_query(Json::parse(R"({"q": "steel", "facets": [{"field_name": "domain.elements"}]})")), who, Dialect::Postgres);
  EXPECT_TRUE(pg.client_page);
  EXPECT_EQ(pg.search.text.rfind("SELECT e.id AS id, e.facets AS facets, ts_rank(", 0), 0u) << pg.search.text;
  EXPECT_EQ(pg.search.text.find("matched"), std::string::npos) << pg.search.text;
  EXPECT_EQ(pg.sort_columns, (std::vector<int>{2}));
  EXPECT_EQ(pg.facets_column, 1);
  const SearchPlan by_year = plan_search(
      parse_query(Json::parse(R"({"q": "steel", "facets": [{"field_name": "domain.elements"}],
        "sort": [{"field_name": "dc.publicationYear", "order": "desc"}, {"field_name": "dc.titles.title"}]})")),
      who, Dialect::Postgres);
  EXPECT_EQ(by_year.sort_columns, (std::vector<int>{1, 2}));
  EXPECT_EQ(by_year.facets_column, 3);
  // A histogram facet joins the matched set; SQLite counts inside the match.
  for (const auto& [query, d] : {std::pair<const char*, Dialect>{R"({"q": "steel", "facets": [{"field_name": "domain.elements"},
        {"type": "date_histogram", "field_name": "published", "date_interval": "year"}]})", Dialect::Postgres},
                                 {R"({"q": "steel", "facets": [{"field_name": "domain.elements"}]})", Dialect::SQLite},
                                 {R"({"q": "steel"})", Dialect::Postgres}})
    EXPECT_FALSE(plan_search(parse_query(Json::parse(query)), who, d).client_page) << query;

  // Year descending, then title ascending (bytewise), then id.
  const std::vector<SortKey> sort{{"dc.publicationYear", true}, {"dc.titles.title", false}};
  const MatchedRows rows{2,
                         {5, 3, 9, 4, 7},
                         {std::int64_t{2020}, "b", std::int64_t{2021}, "z", std::int64_t{2020}, "B", std::int64_t{2020}, "b",
                          std::int64_t{2019}, "a"}};
  EXPECT_EQ(page_of(rows, sort, std::nullopt, 10), (std::vector<std::size_t>{1, 2, 3, 0, 4}));
  EXPECT_EQ(page_of(rows, sort, std::nullopt, 2), (std::vector<std::size_t>{1, 2}));
  // After (2020, "b", 4): the tie's later id, then the older year.
  const Cursor after{{Json(2020), Json("b")}, 4};
  EXPECT_EQ(page_of(rows, sort, after, 10), (std::vector<std::size_t>{0, 4}));
  // Scores: larger first; an integer cursor value compares as a number.
  const std::vector<SortKey> by_score{{"_score", true}};
  const MatchedRows scored{1, {1, 2, 3, 4}, {0.5, 1.0, 0.25, 1.0}};
  EXPECT_EQ(page_of(scored, by_score, std::nullopt, 3), (std::vector<std::size_t>{1, 3, 0}));
  EXPECT_EQ(page_of(scored, by_score, Cursor{{Json(1)}, 2}, 3), (std::vector<std::size_t>{3, 0, 2}));
  // A cursor whose value is not of its column's kind is refused when planned.
  Json next = Json::parse(R"({"q": "steel", "facets": [{"field_name": "domain.elements"}]})");
  next["marker"] = encode_cursor(Cursor{{Json("x")}, 2}, pg.fingerprint);
  expect_error([&] { plan_search(parse_query(next), who, Dialect::Postgres); }, "catalog.cursor.invalid");
  next["marker"] = encode_cursor(Cursor{{Json(0.5)}, 2}, pg.fingerprint);
  EXPECT_TRUE(plan_search(parse_query(next), who, Dialect::Postgres).cursor.has_value());
}

// A code names one (field, value) pair: two fields' values with the same
// 64-bit value hash get a code each, and asking again gives the same ones.
// (Keyed by the value hash alone, the second one was never found again and
// took a new code at every ingest.)
TEST(CatalogFacetCodes, EqualValueHashesOfTwoFieldsHaveACodeEach) {
  detail::FacetCodes codes;
  const detail::FacetValue a{1, 42}, b{2, 42};
  EXPECT_EQ(codes.give(a), 1u);
  EXPECT_EQ(codes.give(b), 2u);
  EXPECT_EQ(codes.give(b), 2u);
  EXPECT_EQ(codes.code_of(a), 1u);
  EXPECT_EQ(codes.size(), 2u);
  for (std::uint64_t v = 0; v < 1000; ++v) codes.give({3, v << 40});  // grows the table past its first size
  EXPECT_EQ(codes.code_of(b), 2u);
  EXPECT_EQ(codes.code_of({3, 999ull << 40}), 1002u);
  codes.truncate(1);
  EXPECT_EQ(codes.code_of(a), 1u);
  EXPECT_EQ(codes.code_of(b), 0u);
  EXPECT_EQ(codes.give(b), 2u);
}

TEST(CatalogBagit, ManifestPathsArePercentEncoded) {
  EXPECT_EQ(encode_manifest_path("data/a%b\nc\rd"), "data/a%25b%0Ac%0Dd");
  EXPECT_EQ(decode_manifest_path("data/a%25b%0Ac%0Dd"), "data/a%b\nc\rd");
  EXPECT_EQ(decode_manifest_path("data/100%"), "data/100%");
}

}  // namespace
}  // namespace beamflow::catalog::test
