#pragma once
// Search planning: a parsed Query and the caller's Identity become SQL
// statements for one backend dialect. Pure: no database here, so tests can
// check the plans (every user value is a bound parameter, never spliced
// into the text) and both backends run the same logic.
//
// The selected set is the CTE `matched`: live entries (published, latest
// version) the caller may see, matching the free text and every filter.
// The full-text index drives it when the query has words or exact filters
// (filter_token); range filters then probe each candidate's (field, entry)
// rows, and scan the field's rows only when nothing else narrows the
// search; wildcard filters check each candidate's rows (numbers, dates)
// and content (text values). A public entry needs no visibility probe (the
// entries' `public` flag); others are checked against their principals.
// The page, the total and every facet are computed from it, in the same
// statement, so facet counts never include an entry the caller cannot see
// and the free-text match runs once per search.
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "jobs/catalog/identity.hpp"
#include "jobs/catalog/query.hpp"

namespace beamflow::catalog {

enum class Dialect { SQLite, Postgres };

using SqlValue = std::variant<std::int64_t, double, std::string>;

struct Sql {
  std::string text;
  std::vector<SqlValue> params;
};

struct SearchPlan {
  // One statement for the whole search. Its rows, ordered by (part, seq):
  // part 0, the page: id and the sort values k0, k1, ... (limit + 1 rows, so
  // the caller knows whether another page follows); part 1, one row: the
  // total in n; part 2 + i, facet i: the bucket in k0 and its count in n.
  // Columns: part, seq, id, n, k0 ... k(keys - 1); in PostgreSQL then fv
  // (bytea, below).
  Sql search;
  std::size_t keys = 1;  // the number of k columns: max(sort keys, 1)
  std::vector<SortKey> sort;
  std::string fingerprint;
  // With terms facets: part `facet_values` has one row per matched entry,
  // its id and its packed facet values (facet_values.hpp; in PostgreSQL in
  // fv, raw, the rest NULL, read in binary format; else in k0), which the
  // caller counts; the other facets are parts 2 + i as above. -1 when the
  // query has no terms facet. Rows come in no particular order: the
  // caller orders each part by seq.
  int facet_values = -1;
  // PostgreSQL with terms facets and no histogram facet (client_page):
  // the statement is the matched set alone, one row a matched entry (no
  // parts): its id in column 0, sort key i in column sort_columns[i]
  // (score float8, year int4, published_ms int8, title and identifier
  // text) and its facet values in column facets_column. The caller counts
  // the rows (the total) and their facet values, and takes the page with
  // page_of. The materialized set, its three scans, the page's sort and
  // the count cost ~10% of the server's CPU of a 12,000-hit search (the
  // rows are sent to the caller anyway, for the facets).
  bool client_page = false;
  std::vector<int> sort_columns;
  int facets_column = -1;
  std::optional<Cursor> cursor;  // the marker's, decoded when planned
  // SQLite with terms facets: instead of that part, `matched` calls
  // beamflow_terms(?, id, facets) once per matched entry, which counts the
  // packed values into the caller's sink; this is that parameter's index
  // (1-based; the caller binds its pointer there). -1 otherwise.
  int terms_sink = -1;
};

// What a backend knows of its catalog that changes a plan.
struct PlanOptions {
  // Schema version 9 (both backends): live_entries.facets holds coded
  // values only (facet_codes.hpp). With this set, a query's terms facets
  // count the whole column, read from each matched entry's `entries` row
  // (a terms facet on a field with values the catalog gave no code:
  // FacetCodes::full); PostgreSQL's holds the packed values.
  bool uncoded_terms = false;
};

// The matched entries of a client_page statement: entry i's id is ids[i]
// and its sort values keys[i * width, (i + 1) * width), width the number of
// sort keys (one array for all: no allocation a hit).
struct MatchedRows {
  std::size_t width = 0;
  std::vector<std::int64_t> ids;
  std::vector<SqlValue> keys;
};
// The page of `rows` as the statement's part 0 makes it: those after the
// cursor (if any), ordered by the sort keys then the id ascending, at most
// `n` (indexes into rows.ids). Numbers compare as numbers, texts bytewise
// (the columns' "C" collation).
std::vector<std::size_t> page_of(const MatchedRows& rows, const std::vector<SortKey>& sort,
                                 const std::optional<Cursor>& cursor, std::size_t n);

// Throws catalog.cursor.invalid for a marker of another query.
SearchPlan plan_search(const Query& query, const Identity& identity, Dialect dialect, const PlanOptions& options = {});

// The free-text expression each backend matches: FTS5 MATCH syntax
// ("tomo"* "steel") or a tsquery of quoted lexemes ('tomo':* & 'steel', cast
// as it is: no parser of the server's between). Empty when q has no words.
std::string fts_expression(const std::string& q, Dialect dialect);

// The token an exact (field, value) filter matches in the free-text index:
// "h" + 16 hex digits of a 64-bit FNV-1a hash of field, NUL, value. Ingest
// indexes one per field value (SQLite: the FTS5 column `tags`; PostgreSQL,
// schema version 7: the hash itself, as a signed bigint, in the live
// entry's `tags` array, which has a GIN index of its own), so match_any and
// match_all are answered by an inverted index (posting lists, written in
// sorted segments at ingest) instead of a (field, value) b-tree every value
// lands at a random place in. Since schema version 4 the hash alone selects what
// is counted (two values colliding in 64 bits would count together) and
// the entries a search returns are checked against their content
// (holds_exact_filters), so a collision never returns a wrong entry.
std::string filter_token(const std::string& field, const std::string& value);
// The token of a (field, value) whose field_value_hash is known.
std::string filter_token(std::uint64_t hash);
// That hash as a number: a (field, value)'s id in the packed facet values.
std::uint64_t field_value_hash(const std::string& field, const std::string& value);
// A field name's 32-bit FNV-1a hash (the packed facet values' field id).
std::uint32_t field_hash(const std::string& field);

// A like-pattern from a wildcard pattern: * -> %, ? -> _, with %, _ and the
// backslash escaped (the statements say ESCAPE backslash).
std::string like_pattern(const std::string& wildcard);
// A GLOB pattern (sqlite3_strglob) from a wildcard pattern: * and ? as
// they are, [ as [[] (GLOB's only other special character).
std::string glob_pattern(const std::string& wildcard);

}  // namespace beamflow::catalog
