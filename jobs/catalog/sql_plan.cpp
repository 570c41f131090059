#include "jobs/catalog/sql_plan.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <sstream>
#include <utility>

#include "jobs/catalog/errors.hpp"
#include "jobs/catalog/text.hpp"

namespace beamflow::catalog {
namespace {

class Builder {
 public:
  explicit Builder(Dialect d) : m_dialect(d) {}
  Builder& operator<<(const std::string& s) {
    m_sql.text += s;
    return *this;
  }
  Builder& bind(SqlValue v) {
    m_sql.params.push_back(std::move(v));
    m_sql.text += m_dialect == Dialect::SQLite ? "?" : "$" + std::to_string(m_sql.params.size());
    return *this;
  }
  Dialect dialect() const { return m_dialect; }
  std::size_t params() const { return m_sql.params.size(); }
  Sql take() { return std::move(m_sql); }

 private:
  Dialect m_dialect;
  Sql m_sql;
};

// Sort key -> column of `matched`.
std::string sort_column(const std::string& field) {
  if (field == "_score") return "score";
  if (field == "dc.publicationYear") return "year";
  if (field == "dc.titles.title") return "title";
  if (field == "published") return "published_ms";
  return "identifier";
}

// The last day an ISO date bound covers: "2024" -> 2024-12-31.
double upper_days(const std::string& iso) {
  if (iso.size() == 4) return static_cast<double>(*iso_days(std::to_string(std::stoi(iso) + 1)) - 1);
  if (iso.size() == 7) {
    int y = std::stoi(iso.substr(0, 4)), m = std::stoi(iso.substr(5, 2)) + 1;
    if (m == 13) m = 1, ++y;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d-%02d", y, m);
    return static_cast<double>(*iso_days(buf) - 1);
  }
  return static_cast<double>(*iso_days(iso));
}

// The (field, entry) rows of the entry being matched: "EXISTS (SELECT 1
// FROM fields f WHERE f.field = ? AND f.entry = e.id" (a probe of the
// (field, entry, sval) key per candidate), or, with `scan`, "e.id IN
// (SELECT f.entry FROM fields f WHERE f.field = ?" (the field's rows read
// once: for a range filter with nothing else to narrow the search). The
// caller adds conditions on f and the closing parenthesis. Since schema
// version 4 only numbers and dates have rows.
void field_rows(Builder& b, const std::string& field, bool scan) {
  b << (scan ? "e.id IN (SELECT f.entry FROM fields f WHERE f.field = " : "EXISTS (SELECT 1 FROM fields f WHERE f.field = ");
  b.bind(field);
  if (!scan) b << " AND f.entry = e.id";
}

bool exact(const Filter& f) { return f.kind == FilterKind::MatchAny || f.kind == FilterKind::MatchAll; }

// The catalog's own text fields (index_terms), held in entries columns.
const char* entry_column(const std::string& field) {
  if (field == "identifier") return "identifier";
  if (field == "collection") return "collection";
  if (field == "owner") return "owner";
  return nullptr;
}

// A wildcard filter on the entry e. Numbers and dates have field rows
// (with their text); text values have none since schema version 4 and are
// read from the entry's content (text_values in entry.hpp): in SQLite by
// beamflow's own function (a GLOB pattern: case-sensitive, ? one
// character, like the LIKE of the rows), in PostgreSQL by the SQL function
// beamflow_field_texts the schema creates. The catalog's identifier,
// collection and owner are columns. `c` is the candidate's entries row
// (matched_cte joins it only for wildcard filters: the live_entries row `e`
// holds no content). Each candidate's content is parsed:
// about as costly as loading the entry, so a wildcard filter with nothing
// else to narrow the search reads every live entry.
void like_sql(Builder& b, const Filter& f) {
  const bool sqlite = b.dialect() == Dialect::SQLite;
  b << "(";
  if (const char* column = entry_column(f.field)) {
    b << "c." << column << " LIKE ";
    b.bind(like_pattern(f.pattern));
    b << " ESCAPE '\\' OR ";
  }
  field_rows(b, f.field, false);
  b << " AND f.sval LIKE ";
  b.bind(like_pattern(f.pattern));
  b << " ESCAPE '\\') OR ";
  if (sqlite) {
    b << "beamflow_field_like(c.content, ";
    b.bind(f.field);
    b << ", ";
    b.bind(glob_pattern(f.pattern));
    b << ")";
  } else {
    b << "EXISTS (SELECT 1 FROM beamflow_field_texts(c.content::jsonb, ";
    b.bind(f.field);
    b << ") t(v) WHERE t.v LIKE ";
    b.bind(like_pattern(f.pattern));
    b << " ESCAPE '\\')";
  }
  b << ")";
}

// One range or wildcard filter as a condition on the entry e. Exact
// filters are only in the full-text match (filter_token): their 64-bit
// hashes decide what is counted, and the entries a search returns are
// checked against their content (holds_exact_filters), so a hash
// collision never returns a wrong entry.
void filter_sql(Builder& b, const Filter& f, bool scan) {
  switch (f.kind) {
    case FilterKind::MatchAny:
    case FilterKind::MatchAll:
      break;
    case FilterKind::Range: {
      field_rows(b, f.field, scan);
      b << " AND (";
      for (std::size_t i = 0; i < f.ranges.size(); ++i) {
        const auto& r = f.ranges[i];
        if (i) b << " OR ";
        b << "(f.nval IS NOT NULL";
        if (r.from.number) b << " AND f.nval >= ", b.bind(*r.from.number);
        if (r.from.text) b << " AND f.nval >= ", b.bind(static_cast<double>(*iso_days(*r.from.text)));
        if (r.to.number) b << " AND f.nval <= ", b.bind(*r.to.number);
        if (r.to.text) b << " AND f.nval <= ", b.bind(upper_days(*r.to.text));
        b << ")";
      }
      b << "))";
      break;
    }
    case FilterKind::Like:
      like_sql(b, f);
      break;
  }
}

// The exact filters as an FTS5 expression over their tokens:
// (tags : ("h1" OR "h2")) AND ... Empty when the query has none.
std::string tag_expression(const std::vector<Filter>& filters) {
  std::string out;
  for (const auto& f : filters) {
    if (!exact(f)) continue;
    const char* join = f.kind == FilterKind::MatchAny ? " OR " : " ";
    std::string one;
    for (const auto& v : f.values) {
      if (!one.empty()) one += join;
      one += "\"" + filter_token(f.field, v) + "\"";
    }
    if (!out.empty()) out += " AND ";
    out += "(tags : (" + one + "))";
  }
  return out;
}

// PostgreSQL (schema version 7): an exact filter's 64-bit hashes as a
// bigint[] literal, each hash read as a signed 64-bit number (as the
// ingest writes the entry's `tags`), for `tags && ...` (match_any) or
// `tags @> ...` (match_all).
std::string tag_array(const Filter& f) {
  std::string out = "{";
  for (const auto& v : f.values) {
    if (out.size() > 1) out += ',';
    out += std::to_string(static_cast<std::int64_t>(field_value_hash(f.field, v)));
  }
  return out + "}";
}

// WITH matched AS (...): the visible, live, matching entries.
bool has_terms_facet(const Query& q) {
  return std::any_of(q.facets.begin(), q.facets.end(), [](const Facet& f) { return f.kind == FacetKind::Terms; });
}

// Whether the sort asks for sort_column `column` of `matched`.
bool sorts_on(const std::vector<SortKey>& sort, const std::string& column) {
  return std::any_of(sort.begin(), sort.end(), [&](const SortKey& k) { return sort_column(k.field) == column; });
}

// The sort columns `matched` may copy, in the order it lists them (after
// the id; then the terms facets' values, then the score).
constexpr const char* kMatchedSortColumns[] = {"year", "title", "published_ms", "identifier"};

// WITH matched AS MATERIALIZED (...) , or with `bare` the SELECT alone.
void matched_cte(Builder& b, const Query& q, const Identity& who, const std::vector<SortKey>& sort,
                 const PlanOptions& options, int& terms_sink, bool bare = false) {
  const std::string words = fts_expression(q.q, b.dialect());
  const bool sqlite = b.dialect() == Dialect::SQLite;
  const std::string tags = sqlite ? tag_expression(q.filters) : "";
  const bool exact_filters = std::any_of(q.filters.begin(), q.filters.end(), exact);
  // MATERIALIZED: computed once per statement. Without it SQLite may
  // re-run the free-text match for every row a facet joins against it.
  // Only the columns the page's sort reads (and the terms facets' values)
  // are copied into it: at 1,000,000 entries a query's 12,000 rows of all
  // four sort columns cost 8% of the search's CPU.
  b << (bare ? "SELECT e.id AS id" : "WITH matched AS MATERIALIZED (SELECT e.id AS id");
  // SQLite keeps the identifier and title in live_names (schema version
  // 8), joined as `n` only for a sort on them.
  const char* names_row = sqlite ? "n" : "e";
  const bool names = sqlite && (sorts_on(sort, "title") || sorts_on(sort, "identifier"));
  for (const std::string column : kMatchedSortColumns)
    if (sorts_on(sort, column))
      b << ", " << (column == "title" || column == "identifier" ? names_row : "e") << "." << column << " AS " << column;
  // Terms facets count the packed values the entry row carries
  // (facet_values.hpp): read here, with the row the match reads anyway.
  // In SQLite they are counted as the row is made, by beamflow_terms with
  // the caller's sink bound to a parameter, instead of copied into the
  // materialized rows (~220 bytes an entry, inserted then read back: ~25%
  // of a search's CPU at 1,000,000 entries).
  // live_entries.facets holds coded values only (schema version 9 in both
  // backends): a terms facet on a field with uncoded values reads the
  // entries row's whole column (PlanOptions::uncoded_terms; in PostgreSQL
  // the packed one).
  const bool uncoded = options.uncoded_terms && has_terms_facet(q);
  if (has_terms_facet(q)) {
    if (sqlite) {
      b << ", beamflow_terms(";
      b.bind(std::int64_t{0});
      terms_sink = static_cast<int>(b.params());
      b << ", e.id, " << (uncoded ? "c" : "e") << ".facets) AS counted";
    } else {
      b << ", " << (uncoded ? "c" : "e") << ".facets AS facets";
    }
  }
  // The live entries (published, latest version) are rows of their own
  // table, live_entries (schema version 5, kept by triggers on entries):
  // only what the match, visibility, the sort and the terms facets read,
  // keyed by the entry's id. At 1,000,000 entries SQLite's covering index
  // of version 4 (~340-byte keys, ~12 to an interior page) took 2.9-4.2 us
  // of a hit's 5.2; PostgreSQL read a heap block of ~2 KB rows per hit.
  // Wildcard filters read the entry's content: its entries row `c`.
  const bool content = std::any_of(q.filters.begin(), q.filters.end(),
                                   [](const Filter& f) { return f.kind == FilterKind::Like; });
  const std::string joins =
      std::string(content || uncoded ? " JOIN entries c ON c.id = e.id" : "") + (names ? " JOIN live_names n ON n.id = e.id" : "");
  // The rank only when the page is ordered by it (it is not shown
  // otherwise). In SQLite FTS5's bm25, computed by beamflow_bm25 from the
  // hit's document size in its live_entries row (schema version 6), where
  // bm25() probes fts_docsize for it. bm25 is smaller for better matches;
  // negated so larger is better in both backends. The tags column weighs
  // nothing in it.
  if (sorts_on(sort, "score")) {
    if (sqlite) {
      b << ", -beamflow_bm25(fts, e.fts_size, 1.0, 0.0)";
    } else {
      b << ", ts_rank(e.tsv, ";
      b.bind(words);
      b << "::tsquery, 1)::float8";
    }
    b << " AS score";
  }
  b << " FROM ";
  if (words.empty() && !exact_filters) {
    b << "live_entries e" << joins << " WHERE TRUE";
  } else if (sqlite) {
    b << "fts JOIN live_entries e ON e.id = fts.rowid" << joins << " WHERE fts MATCH ";
    b.bind(words.empty() ? tags : tags.empty() ? "body : (" + words + ")" : "body : (" + words + ") AND " + tags);
  } else {
    // The words in the tsvector (GIN index live_entries_tsv), each exact
    // filter's hashes in `tags` (GIN index live_entries_tags).
    b << "live_entries e" << joins << " WHERE ";
    const char* sep = "";
    if (!words.empty()) b << "e.tsv @@ ", b.bind(words), b << "::tsquery", sep = " AND ";
    for (const auto& f : q.filters) {
      if (!exact(f)) continue;
      b << sep << (f.kind == FilterKind::MatchAny ? "e.tags && " : "e.tags @> ");
      b.bind(tag_array(f));
      b << "::bigint[]";
      sep = " AND ";
    }
  }
  // Visibility: a public entry needs no check; others are checked against
  // their principals. PostgreSQL (schema version 10) reads them from the
  // live row the match reads anyway (`principals`), so no other table is
  // read (before, a hashed subplan over every visibility row of the
  // caller's principals: ~11,000 rows a search at 1,000,000 entries).
  if (!who.admin) {
    const auto principals = who.principals();
    b << (sqlite ? " AND (e.public = 1 OR EXISTS (SELECT 1 FROM visibility v WHERE v.entry = e.id AND v.principal IN ("
                 : " AND (e.public = 1 OR e.principals && ARRAY[");
    for (std::size_t i = 0; i < principals.size(); ++i) {
      if (i) b << ", ";
      b.bind(principals[i]);
      if (!sqlite) b << "::text";
    }
    b << (sqlite ? ")))" : "])");
  }
  // Nothing narrows the search but range or wildcard filters: the first
  // range reads its field's rows once; the rest probe the entries it leaves.
  bool scan = words.empty() && !exact_filters;
  for (const auto& f : q.filters) {
    if (exact(f)) continue;
    b << " AND ";
    filter_sql(b, f, scan && f.kind == FilterKind::Range);
    if (f.kind == FilterKind::Range) scan = false;
  }
  if (!bare) b << ") ";
}

// A cursor's sort value as the statements bind it.
SqlValue cursor_value(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) return v.get<double>();
  return v.get<std::int64_t>();
}

void keyset(Builder& b, const std::vector<SortKey>& sort, const Cursor& c) {
  // (k0 beyond v0) OR (k0 = v0 AND k1 beyond v1) OR ... OR (all equal AND id > row)
  b << " WHERE (";
  for (std::size_t i = 0; i <= sort.size(); ++i) {
    if (i) b << " OR ";
    b << "(";
    for (std::size_t j = 0; j < i; ++j) {
      b << "m." << sort_column(sort[j].field) << " = ";
      b.bind(cursor_value(c.keys[j]));
      b << " AND ";
    }
    if (i < sort.size()) {
      b << "m." << sort_column(sort[i].field) << (sort[i].descending ? " < " : " > ");
      b.bind(cursor_value(c.keys[i]));
    } else {
      b << "m.id > ";
      b.bind(c.row);
    }
    b << ")";
  }
  b << ")";
}

}  // namespace

std::uint64_t field_value_hash(const std::string& field, const std::string& value) {
  std::uint64_t h = 14695981039346656037ull;  // FNV-1a 64
  auto mix = [&h](unsigned char c) {
    h ^= c;
    h *= 1099511628211ull;
  };
  for (unsigned char c : field) mix(c);
  mix(0);
  for (unsigned char c : value) mix(c);
  return h;
}

std::uint32_t field_hash(const std::string& field) {
  std::uint32_t h = 2166136261u;  // FNV-1a 32
  for (unsigned char c : field) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

std::string filter_token(const std::string& field, const std::string& value) {
  return filter_token(field_value_hash(field, value));
}

std::string filter_token(std::uint64_t hash) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(17, 'h');  // "h" + 16 lowercase hex digits, as %016llx
  for (int i = 16; i >= 1; --i, hash >>= 4) out[static_cast<std::size_t>(i)] = kHex[hash & 0xf];
  return out;
}

std::string like_pattern(const std::string& wildcard) {
  std::string out;
  for (char c : wildcard) {
    if (c == '*') out += '%';
    else if (c == '?') out += '_';
    else if (c == '%' || c == '_' || c == '\\') out += {'\\', c};
    else out += c;
  }
  return out;
}

std::string glob_pattern(const std::string& wildcard) {
  std::string out;
  for (char c : wildcard) {
    if (c == '[') out += "[[]";
    else out += c;
  }
  return out;
}

std::string fts_expression(const std::string& q, Dialect dialect) {
  std::istringstream words(q);
  std::string word, out;
  while (words >> word) {
    const bool prefix = word.size() > 1 && word.back() == '*';
    const auto toks = tokens(word);
    for (std::size_t i = 0; i < toks.size(); ++i) {
      const bool last_prefix = prefix && i + 1 == toks.size();
      if (dialect == Dialect::SQLite) {
        if (!out.empty()) out += ' ';
        out += "\"" + toks[i] + "\"" + (last_prefix ? "*" : "");
      } else {
        if (!out.empty()) out += " & ";
        append_pg_lexeme(toks[i], out);
        if (last_prefix) out += ":*";
      }
    }
  }
  return out;
}

namespace {

// `SELECT x` as a union column: PostgreSQL needs every branch's column to
// have one type (ids and counts BIGINT, keys and buckets TEXT); SQLite
// keeps each value's own type, so its text form is what it always was.
std::string as_text(const std::string& expr, Dialect d) {
  return d == Dialect::SQLite ? expr : "CAST(" + expr + " AS TEXT)";
}

// The fields of the matched entries, for a facet: a probe per matched
// entry of the fields key (field, entry, sval), where one field's rows for
// all entries lie together (a few MB hot in the cache).
constexpr const char* kFacetJoin = "FROM matched m CROSS JOIN fields f ";

// A histogram facet's own SELECT over `matched`: (bucket, n), in its
// bucket order. An entry can put two values in one bucket: count(DISTINCT).
void facet_select(Builder& b, const Facet& f, Dialect dialect) {
  switch (f.kind) {
    case FacetKind::Terms:  // counted by the caller from the packed values
      break;
    case FacetKind::NumericHistogram: {
      const double width = (f.high - f.low) / f.size;
      // Buckets [low + i*width, low + (i+1)*width); the float division is the
      // same IEEE operation in both backends.
      b << "SELECT " << (dialect == Dialect::SQLite ? "CAST((f.nval - " : "floor((f.nval - ");
      b.bind(f.low);
      b << ") / ";
      b.bind(width);
      b << (dialect == Dialect::SQLite ? " AS INTEGER)" : ")::bigint")
        << " AS bucket, count(DISTINCT m.id) AS n " << kFacetJoin << "WHERE f.entry = m.id AND f.field = ";
      b.bind(f.field);
      b << " AND f.nval >= ";
      b.bind(f.low);
      b << " AND f.nval < ";
      b.bind(f.high);
      b << " GROUP BY bucket ORDER BY bucket";
      break;
    }
    case FacetKind::DateHistogram: {
      const int len = f.interval == "year" ? 4 : f.interval == "month" ? 7 : 10;
      b << "SELECT substr(f.sval, 1, " << std::to_string(len)
        << ") AS bucket, count(DISTINCT m.id) AS n " << kFacetJoin << "WHERE f.entry = m.id AND f.field = ";
      b.bind(f.field);
      b << " AND f.nval IS NOT NULL AND length(f.sval) >= " << std::to_string(len)
        << " AND substr(f.sval, 5, 1) IN ('-', '') AND f.sval >= '0000' AND f.sval < ':'"
        << " GROUP BY bucket ORDER BY bucket";
      break;
    }
  }
}

}  // namespace

SearchPlan plan_search(const Query& query, const Identity& identity, Dialect dialect, const PlanOptions& options) {
  SearchPlan plan;
  plan.sort = effective_sort(query);
  plan.fingerprint = query_fingerprint(query);
  plan.keys = std::max<std::size_t>(plan.sort.size(), 1);
  const std::string null_id = "CAST(NULL AS BIGINT)", null_key = "CAST(NULL AS TEXT)";
  auto null_keys = [&](std::size_t from) {
    std::string out;
    for (std::size_t i = from; i < plan.keys; ++i) out += ", " + null_key;
    return out;
  };
  Builder b(dialect);
  // PostgreSQL with terms facets, which return every matched row anyway,
  // and no histogram facet (which joins the matched set): the statement is
  // the matched set itself, and the caller takes the total and the page
  // (SearchPlan::client_page).
  const bool histograms = std::any_of(query.facets.begin(), query.facets.end(),
                                      [](const Facet& f) { return f.kind != FacetKind::Terms; });
  if (dialect == Dialect::Postgres && has_terms_facet(query) && !histograms) {
    plan.client_page = true;
    if (!query.marker.empty()) {
      plan.cursor = decode_cursor(query.marker, plan.fingerprint, plan.sort.size());
      // Each value of the kind its column holds (page_of compares them;
      // in SQL a wrong one was the server's error): a text for the title and
      // the identifier, a number for the others.
      for (std::size_t i = 0; i < plan.sort.size(); ++i) {
        const std::string column = sort_column(plan.sort[i].field);
        const Json& v = plan.cursor->keys[i];
        if (column == "title" || column == "identifier" ? !v.is_string() : !v.is_number())
          throw Error("catalog.cursor.invalid", kInvalidInput, "marker: not a cursor this catalog issued",
                      {{"field", "marker"}});
      }
    }
    matched_cte(b, query, identity, plan.sort, options, plan.terms_sink, true);
    std::vector<std::string> columns{"id"};
    for (const std::string column : kMatchedSortColumns)
      if (sorts_on(plan.sort, column)) columns.push_back(column);
    plan.facets_column = static_cast<int>(columns.size());
    columns.push_back("facets");
    if (sorts_on(plan.sort, "score")) columns.push_back("score");
    for (const auto& k : plan.sort)
      plan.sort_columns.push_back(static_cast<int>(
          std::find(columns.begin(), columns.end(), sort_column(k.field)) - columns.begin()));
    plan.search = b.take();
    return plan;
  }
  // One statement: `matched` is computed once and the page, the total and
  // every facet read it (three or more statements re-ran the free-text match
  // and the visibility check each). One statement also sees one snapshot.
  matched_cte(b, query, identity, plan.sort, options, plan.terms_sink);
  // PostgreSQL: a last column `fv` (bytea) carries the terms facets'
  // packed values, NULL in every other part. The caller reads the result
  // in binary format, so each hit's values arrive as they are stored
  // (~210 bytes at the bench's entries) instead of as hex text twice that
  // long that the server encodes and the client decodes.
  const bool pg = dialect == Dialect::Postgres;
  const std::string null_fv = pg ? ", CAST(NULL AS BYTEA)" : "";
  b << "SELECT part, seq, id, n";
  for (std::size_t i = 0; i < plan.keys; ++i) b << ", k" << std::to_string(i);
  if (pg) b << ", fv";
  b << " FROM (";
  // Part 0: the page (limit + 1 rows, so the caller knows whether another follows).
  std::string order;
  for (std::size_t i = 0; i < plan.sort.size(); ++i)
    order += "p.s" + std::to_string(i) + (plan.sort[i].descending ? " DESC, " : " ASC, ");
  order += "p.id ASC";
  b << "SELECT 0 AS part, row_number() OVER (ORDER BY " << order << ") AS seq, p.id AS id, " << null_id << " AS n";
  for (std::size_t i = 0; i < plan.sort.size(); ++i)
    b << ", " << as_text("p.s" + std::to_string(i), dialect) << " AS k" << std::to_string(i);
  b << null_keys(plan.sort.size()) << (pg ? null_fv + " AS fv" : "") << " FROM (SELECT m.id AS id";
  for (std::size_t i = 0; i < plan.sort.size(); ++i) b << ", m." << sort_column(plan.sort[i].field) << " AS s" << std::to_string(i);
  b << " FROM matched m";
  if (!query.marker.empty()) keyset(b, plan.sort, decode_cursor(query.marker, plan.fingerprint, plan.sort.size()));
  b << " ORDER BY ";
  for (const auto& k : plan.sort) b << "m." << sort_column(k.field) << (k.descending ? " DESC, " : " ASC, ");
  b << "m.id ASC LIMIT ";
  b.bind(static_cast<std::int64_t>(query.limit + 1));
  b << ") p";
  // Part 1: the total.
  // count(counted): beamflow_terms returns 1, and a column the statement
  // reads is computed for every matched row whatever SQLite optimises.
  b << " UNION ALL SELECT 1, 0, " << null_id << ", " << (plan.terms_sink > 0 ? "count(counted)" : "count(*)")
    << null_keys(0) << null_fv << " FROM matched";
  // Parts 2, 3, ...: the histogram facets, each in its own bucket order.
  for (std::size_t i = 0; i < query.facets.size(); ++i) {
    const Facet& f = query.facets[i];
    if (f.kind == FacetKind::Terms) continue;
    const std::string facet_order = "x.bucket ASC";
    b << " UNION ALL SELECT " << std::to_string(2 + i) << ", row_number() OVER (ORDER BY " << facet_order << "), "
      << null_id << ", x.n, " << as_text("x.bucket", dialect) << null_keys(1) << null_fv << " FROM (";
    facet_select(b, f, dialect);
    b << ") x";
  }
  // The terms facets' part: every matched entry's packed values, counted
  // by the caller (no probe of the fields rows per entry and facet).
  if (has_terms_facet(query) && plan.terms_sink < 0) {
    plan.facet_values = static_cast<int>(2 + query.facets.size());
    b << " UNION ALL SELECT " << std::to_string(plan.facet_values) << ", 0, m.id, " << null_id;
    if (pg) b << null_keys(0) << ", m.facets";
    else b << ", m.facets" << null_keys(1);
    b << " FROM matched m";
  }
  // No ORDER BY: sorting every matched entry's row would cost more than
  // the caller's sort of each part by seq.
  b << ") u";
  plan.search = b.take();
  return plan;
}

namespace {
// a < b (-1), a == b (0), a > b (1) for two sort values of one column.
int compare(const SqlValue& a, const SqlValue& b) {
  if (const auto* x = std::get_if<std::string>(&a)) {
    const int c = x->compare(std::get<std::string>(b));
    return c < 0 ? -1 : c > 0;
  }
  if (std::holds_alternative<std::int64_t>(a) && std::holds_alternative<std::int64_t>(b)) {
    const auto x = std::get<std::int64_t>(a), y = std::get<std::int64_t>(b);
    return x < y ? -1 : x > y;
  }
  auto number = [](const SqlValue& v) {
    return std::holds_alternative<double>(v) ? std::get<double>(v) : static_cast<double>(std::get<std::int64_t>(v));
  };
  const double x = number(a), y = number(b);
  return x < y ? -1 : x > y;
}
}  // namespace

std::vector<std::size_t> page_of(const MatchedRows& rows, const std::vector<SortKey>& sort,
                                 const std::optional<Cursor>& cursor, std::size_t n) {
  // Negative when a row with values a and id a_id comes before one with b
  // and b_id (the keys in their directions, then the id).
  auto order = [&sort](const SqlValue* a, std::int64_t a_id, const SqlValue* b, std::int64_t b_id) {
    for (std::size_t i = 0; i < sort.size(); ++i)
      if (const int c = compare(a[i], b[i])) return sort[i].descending ? -c : c;
    return a_id < b_id ? -1 : a_id > b_id;
  };
  auto values = [&rows](std::size_t i) { return rows.keys.data() + i * rows.width; };
  std::vector<SqlValue> after;
  if (cursor)
    for (const auto& v : cursor->keys) after.push_back(cursor_value(v));
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < rows.ids.size(); ++i)
    if (!cursor || order(values(i), rows.ids[i], after.data(), cursor->row) > 0) out.push_back(i);
  auto before = [&](std::size_t a, std::size_t b) { return order(values(a), rows.ids[a], values(b), rows.ids[b]) < 0; };
  const std::size_t keep = std::min(n, out.size());
  std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(keep), out.end(), before);
  out.resize(keep);
  return out;
}

}  // namespace beamflow::catalog
