#pragma once
// Search planning: a parsed Query and the caller's Identity become SQL
// statements for one backend dialect. Pure: no database here, so tests can
// check the plans (every user value is a bound parameter, never spliced
// into the text) and both backends run the same logic.
//
// The selected set is the CTE `matched`: live entries (published, latest
// version) the caller may see, matching the free text and every filter.
// The page, the total and every facet are computed from it, in the same
// statement, so facet counts never include an entry the caller cannot see
// and the free-text match runs once per search.
#include <cstdint>
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
  // Columns: part, seq, id, n, k0 ... k(keys - 1).
  Sql search;
  std::size_t keys = 1;  // the number of k columns: max(sort keys, 1)
  std::vector<SortKey> sort;
  std::string fingerprint;
};

// Throws catalog.cursor.invalid for a marker of another query.
SearchPlan plan_search(const Query& query, const Identity& identity, Dialect dialect);

// The free-text expression each backend matches: FTS5 MATCH syntax
// ("tomo"* "steel") or a tsquery (tomo:* & steel). Empty when q has no words.
std::string fts_expression(const std::string& q, Dialect dialect);

// A like-pattern from a wildcard pattern: * -> %, ? -> _, with %, _ and the
// backslash escaped (the statements say ESCAPE backslash).
std::string like_pattern(const std::string& wildcard);

}  // namespace beamflow::catalog
