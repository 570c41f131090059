// The facility-wide catalog on PostgreSQL (libpq). Free text is a tsvector
// column (the 'simple' configuration over the same tokens SQLite indexes),
// copied with what a search reads into live_entries, which has the GIN
// index; exact filters match the 64-bit hashes of the entry's field values
// in its `tags` array, which has a GIN index of its own. Bulk ingest COPYs
// each batch straight into its tables, the tsvector written by beamflow
// from its own tokens: one stream per table, no statement parsed per row,
// and the entries' rows in COPY's binary format (BinaryRows,
// tsvector_binary), which the server stores without scanning text.
#include <libpq-fe.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <string_view>
#include <unordered_map>

#include "jobs/catalog/backend_support.hpp"
#include "jobs/catalog/catalog.hpp"
#include "jobs/catalog/errors.hpp"
#include "jobs/catalog/text.hpp"

namespace beamflow::catalog {
namespace {

using Row = std::vector<std::optional<std::string>>;

// Version 2 (catalog_meta): the `public` flag, exact filters as lexemes
// "~" + filter_token in the tsvector, and one fields index keyed (field,
// entry, sval). A version-1 catalog (no catalog_meta) is converted when
// opened: its search index is rebuilt from the entries' content. Version
// 3: each entry's packed facet values in `facets` (facet_values.hpp),
// filled in from the content when an older catalog is opened. Version 4:
// field rows only for numbers and dates (an older catalog's text rows are
// deleted when opened); wildcard filters on text read the content through
// beamflow_field_texts (kFieldTexts). Version 5: the live entries' search
// columns, the tsvector included, in live_entries (kLiveEntries), which
// searches read instead of the entries heap; the GIN index moves there.
// Version 6: the tsvector is written by beamflow (tsvector_text) and
// queries cast their quoted lexemes (fts_expression), instead of the
// server's to_tsvector/to_tsquery('simple'): an entry is COPYed straight
// into entries, without a staging table or the server's parser (together
// ~15% of the server's ingest CPU). For the ASCII words beamflow's
// tokens are the lexemes to_tsvector made, positions included; an older
// catalog has every tsvector that differs (other words, in a database
// whose locale lower-cases or splits them otherwise) rewritten when
// opened (reindex). Version 7: the exact-filter hashes leave the tsvector
// for a bigint[] column, `tags` (GIN index live_entries_tags): 8-byte keys
// instead of 18-byte lexemes, in both stored copies of the row, and the
// tsvector holds only words and the count lexemes that keep its length,
// and so ts_rank, what it was (tsvector_text). An older catalog has its
// rows rewritten from the content when opened (reindex). Version 8: the
// tsvector and the tags are stored once, in live_entries: entries has
// neither column, and live_entries has no triggers; ingest COPYs the live
// rows itself, and set_status/update_latest bring the live rows of the
// identifiers they change in step (refresh_live: a row that stops being
// live is deleted, one that becomes live is made from its content). A
// version-7 catalog has its triggers (kNoLiveTriggers) and the two entries
// columns (kTagOnce) dropped when opened; its live rows are kept as they
// are. An older catalog has its live rows made again from entries, after
// reindex (kLiveEntries). Version 9: live_entries.facets holds the entry's
// coded facet values only (facet_codes.hpp, as SQLite's schema 9: ~20
// bytes a bench entry instead of ~210), the codes in facet_codes, given by
// the writer holding kCodesLock; entries.facets keeps the packed values,
// which a terms facet on a field with values past FacetCodes::kPerField
// (PlanOptions::uncoded_terms) counts instead. An older catalog has its
// live rows made again from the content when opened (rebuild_live), and
// entries' index of published_ms, which no statement reads, dropped.
// Version 10: live_entries.principals holds who may see a live entry that
// is not public (its visibility rows' principals, sorted: visible_to and
// the owner), so a search checks visibility on the row its match reads
// (`public = 1 OR principals && the caller's`) instead of a hashed subplan
// over every visibility row of the caller's principals (~11,000 rows read
// per search at the bench's 1,000,000 entries). A version-9 catalog gets
// the column filled from its visibility rows when opened (kPrincipals).
// Version 11: no visibility table. Since version 10 no statement read it
// (searches read live_entries.principals, describe and versions the
// entries row's visible_to and owner), but each ingested entry that is not
// public still cost a row of it and two B-tree inserts. An older catalog
// has it dropped when opened, after kPrincipals has read it.
constexpr int kSchemaVersion = 11;
const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS catalog_meta(name TEXT PRIMARY KEY, value BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS collections(
  name TEXT PRIMARY KEY, schema TEXT NOT NULL, requires_approval INTEGER NOT NULL, curators TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sequences(name TEXT PRIMARY KEY, value BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS entries(
  id BIGSERIAL PRIMARY KEY, identifier TEXT COLLATE "C" NOT NULL, version INTEGER NOT NULL,
  collection TEXT NOT NULL, status TEXT NOT NULL, latest INTEGER NOT NULL DEFAULT 0, owner TEXT NOT NULL,
  visible_to TEXT NOT NULL, content TEXT NOT NULL, location TEXT NOT NULL, manifest TEXT NOT NULL,
  bytes BIGINT NOT NULL, files BIGINT NOT NULL, published_ms BIGINT NOT NULL, request_id TEXT,
  reason TEXT NOT NULL DEFAULT '', decided_by TEXT NOT NULL DEFAULT '', title TEXT COLLATE "C" NOT NULL,
  year INTEGER NOT NULL, public INTEGER NOT NULL DEFAULT 0, facets BYTEA, UNIQUE(identifier, version));
CREATE UNIQUE INDEX IF NOT EXISTS entries_request ON entries(request_id) WHERE request_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS fields(field TEXT COLLATE "C" NOT NULL, entry BIGINT NOT NULL,
  sval TEXT COLLATE "C" NOT NULL, nval DOUBLE PRECISION, PRIMARY KEY(field, entry, sval));
-- What a search reads of each live entry (published, latest version): a
-- search's hits are read from these narrow rows (about a quarter of an
-- entries row: no content, manifest or location) instead of a heap block
-- of the entries table per hit, beyond shared_buffers at 1,000,000 entries.
CREATE TABLE IF NOT EXISTS live_entries(id BIGINT PRIMARY KEY, public INTEGER NOT NULL, year INTEGER NOT NULL,
  published_ms BIGINT NOT NULL, identifier TEXT COLLATE "C" NOT NULL, title TEXT COLLATE "C" NOT NULL,
  facets BYTEA, tsv tsvector NOT NULL, tags BIGINT[] NOT NULL DEFAULT '{}', principals TEXT[] NOT NULL DEFAULT '{}');
CREATE INDEX IF NOT EXISTS live_entries_tsv ON live_entries USING GIN(tsv);
-- What live_entries.facets' codes stand for (facet_codes.hpp): code n is
-- the value with field hash `field` and value hash `value` (as signed
-- 64-bit numbers); codes are only ever added, in order (version 9).
CREATE TABLE IF NOT EXISTS facet_codes(code BIGINT PRIMARY KEY, field BIGINT NOT NULL, value BIGINT NOT NULL);
)sql";

// Version 10 adds the column to every older catalog (kAddPrincipals). A
// version-9 catalog then gets each live row's principals from its
// visibility rows (kPrincipals; a public entry has none); older catalogs
// have their live rows made again by rebuild_live, which writes the column.
const char* kAddPrincipals =
    "ALTER TABLE live_entries ADD COLUMN IF NOT EXISTS principals TEXT[] NOT NULL DEFAULT '{}'";
const char* kPrincipals = R"sql(
UPDATE live_entries l SET principals = v.p
  FROM (SELECT entry, array_agg(principal ORDER BY principal) AS p FROM visibility GROUP BY entry) v
  WHERE v.entry = l.id AND l.public = 0;
)sql";

// The transaction-scoped advisory lock a writer that may give facet codes
// holds (ingest, set_status, a conversion): codes are given by one writer
// at a time, each reading those committed before it first.
constexpr const char* kCodesLock = "SELECT pg_advisory_xact_lock(4242002)";

// The GIN index of the exact-filter hashes (a new catalog's live_entries
// has the column from kSchema).
const char* kTagsIndex = "CREATE INDEX IF NOT EXISTS live_entries_tags ON live_entries USING GIN(tags)";

// Version 7's exact-filter hashes for a catalog older than that (filled
// by reindex; the entries column goes again with kTagOnce).
const char* kTags = R"sql(
ALTER TABLE entries ADD COLUMN IF NOT EXISTS tags BIGINT[] NOT NULL DEFAULT '{}';
ALTER TABLE live_entries ADD COLUMN IF NOT EXISTS tags BIGINT[] NOT NULL DEFAULT '{}';
)sql";

// From versions 5 to 7: the statement triggers on entries that copied
// each live row from there (one INSERT ... SELECT a statement, over its
// transition tables) dropped first, before any other step rewrites rows.
const char* kNoLiveTriggers = R"sql(
DROP TRIGGER IF EXISTS live_entries_insert ON entries;
DROP TRIGGER IF EXISTS live_entries_update ON entries;
DROP TRIGGER IF EXISTS live_entries_delete ON entries;
DROP FUNCTION IF EXISTS beamflow_live_entries();
)sql";

// From version 7 (or older, after the steps before it): the tsvector and
// the tags only in live_entries, which beamflow keeps itself.
const char* kTagOnce = "ALTER TABLE entries DROP COLUMN IF EXISTS tsv, DROP COLUMN IF EXISTS tags";

// Before version 7 (after the steps before it, reindex included):
// live_entries filled from the entries that are live (before version 5
// there were none; versions 5 and 6 had triggers keep them, which
// kTagOnce drops); entries' own GIN index, which only searches read,
// dropped.
const char* kLiveEntries = R"sql(
DROP INDEX IF EXISTS entries_tsv;
DELETE FROM live_entries;
INSERT INTO live_entries(id, public, year, published_ms, identifier, title, facets, tsv, tags)
  SELECT id, public, year, published_ms, identifier, title, facets, tsv, tags FROM entries
  WHERE status = 'published' AND latest = 1 ORDER BY id;
)sql";

// The text values of `field` in a content document, as text_values
// (entry.hpp) lists them: strings of at most 256 bytes and booleans, under
// the keys joined by dots with every array unwrapped; the walk descends only
// into keys on the way to `field`.
const char* kFieldTexts = R"sql(
CREATE OR REPLACE FUNCTION beamflow_field_texts(doc jsonb, field text) RETURNS SETOF text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  WITH RECURSIVE w(p, v) AS (
    SELECT ''::text, doc
    UNION ALL
    SELECT c.p, c.v FROM w CROSS JOIN LATERAL (
      SELECT CASE WHEN w.p = '' THEN o.key ELSE w.p || '.' || o.key END, o.value
        FROM jsonb_each(CASE WHEN jsonb_typeof(w.v) = 'object' THEN w.v END) o
      UNION ALL
      SELECT w.p, a.value FROM jsonb_array_elements(CASE WHEN jsonb_typeof(w.v) = 'array' THEN w.v END) a
    ) c(p, v)
    WHERE c.p = field OR left(field, length(c.p) + 1) = c.p || '.')
  SELECT CASE WHEN jsonb_typeof(v) = 'string' THEN v #>> '{}' ELSE v::text END FROM w
  WHERE p = field AND (jsonb_typeof(v) = 'boolean' OR (jsonb_typeof(v) = 'string' AND octet_length(v #>> '{}') <= 256))
$$;
)sql";

// From version 1: the public flag filled in, the fields table recreated
// (then filled, and every tsvector recomputed with its filter lexemes, by
// reindex). Its visibility table goes with version 11's step.
const char* kFromVersion1 = R"sql(
ALTER TABLE entries ADD COLUMN IF NOT EXISTS public INTEGER NOT NULL DEFAULT 0;
UPDATE entries SET public = (visible_to::jsonb ? 'public')::int;
DROP TABLE IF EXISTS fields;
)sql";

// An entry's tsvector in the type's text form: each word of `body`
// (index_terms' tokens, joined by spaces) at its position (1, 2, ...;
// the type keeps at most 16,383), as to_tsvector('simple', body) made it
// before version 6. Repeats are merged by the type's input; to_tsvector
// keeps a lexeme's first 255 positions where the input keeps 256, so a
// word's later repeats are left out here (counted only in a body that
// long). Then `tags` count lexemes (version 7): '~' with positions 1 to
// 255, '~1' with the next 255, and so on. Before version 7 the tsvector
// held each of the entry's distinct filter hashes as a lexeme without
// positions, and ts_rank's length normalisation (1 + log of the number
// of positions, a lexeme without any counting one) counted each of them;
// the count lexemes give the same length, so every rank is the same to
// the bit, and no query ever names them (a word is letters and digits).
constexpr int kMaxPositions = 255;

// Calls f(word, position) for each word of `body` the tsvector keeps
// (tsvector_text): all but a word's repeats past its 255th in a body that
// long; positions past 16,383 as 16,383.
template <class F>
void for_each_kept_word(std::string_view body, F&& f) {
  std::size_t pos = 0;
  const bool long_body = static_cast<std::size_t>(std::count(body.begin(), body.end(), ' ')) >= kMaxPositions;
  std::unordered_map<std::string_view, int> seen;
  for (std::size_t at = 0; at < body.size();) {
    const std::size_t end = std::min(body.find(' ', at), body.size());
    const std::string_view word = body.substr(at, end - at);
    at = end + 1;
    if (word.empty()) continue;
    ++pos;
    if (long_body && ++seen[word] > kMaxPositions) continue;
    f(word, std::min<std::size_t>(pos, 16383));
  }
}

std::string tsvector_text(std::string_view body, std::size_t tags) {
  std::string out;
  out.reserve(body.size() * 2 + tags * 4);
  for_each_kept_word(body, [&](std::string_view word, std::size_t pos) {
    if (!out.empty()) out += ' ';
    append_pg_lexeme(word, out);
    out += ':';
    out += std::to_string(pos);
  });
  for (std::size_t i = 0; i < tags; ++i) {
    const std::size_t n = i % kMaxPositions;
    if (n == 0) out += (out.empty() ? "'~" : " '~") + (i ? std::to_string(i / kMaxPositions) : "") + "':";
    else out += ',';
    out += std::to_string(n + 1);
  }
  return out;
}

// An entry's exact-filter hashes (add_field_rows' tokens, "h" + 16 hex
// digits, space-separated), the distinct ones in order, each read as a
// signed 64-bit number (as tag_array in sql_plan.cpp writes a filter's).
std::vector<std::int64_t> tag_hashes(std::string_view tokens) {
  std::vector<std::int64_t> hashes;
  for (std::size_t at = 0; at < tokens.size();) {
    const std::size_t end = std::min(tokens.find(' ', at), tokens.size());
    if (end > at + 1) {
      std::uint64_t h = 0;
      for (char c : tokens.substr(at + 1, end - at - 1)) h = h << 4 | static_cast<std::uint64_t>(c <= '9' ? c - '0' : c - 'a' + 10);
      hashes.push_back(static_cast<std::int64_t>(h));
    }
    at = end + 1;
  }
  std::sort(hashes.begin(), hashes.end());
  hashes.erase(std::unique(hashes.begin(), hashes.end()), hashes.end());
  return hashes;
}

// Those hashes as a bigint[] literal.
std::string tag_array(const std::vector<std::int64_t>& hashes) {
  std::string out = "{";
  for (const auto h : hashes) {
    if (out.size() > 1) out += ',';
    out += std::to_string(h);
  }
  return out + "}";
}

// Big-endian integers, as COPY's binary format and the types' binary
// forms (the *recv functions) read them.
template <class T>
void put_be(std::string& out, T v) {
  auto u = static_cast<std::make_unsigned_t<T>>(v);
  char b[sizeof(T)];
  for (std::size_t i = sizeof(T); i-- > 0; u = static_cast<decltype(u)>(u >> 8)) b[i] = static_cast<char>(u & 0xff);
  out.append(b, sizeof(T));
}

// The tsvector that tsvectorin makes of tsvector_text(body, tags), in the
// type's binary form (tsvectorrecv): the number of lexemes, then each
// lexeme in the type's order (bytewise, a prefix first) as its bytes and a
// NUL, its number of positions and the positions (ascending, weight D).
// The server takes it as it is: no text to scan, no lexemes to sort. Like
// the text form, a word's positions stop at 16,383 (repeats there are one
// position) and, in a body of 255 words or more, at its 255th.
std::string tsvector_binary(std::string_view body, std::size_t tags) {
  constexpr std::size_t kMaxLexemeBytes = 2046;
  std::vector<std::pair<std::string_view, std::uint16_t>> at;
  for_each_kept_word(body, [&](std::string_view word, std::size_t pos) {
    // tsvectorin's limit, which tsvectorrecv does not check to the byte.
    if (word.size() > kMaxLexemeBytes)
      fail("catalog.db", "PostgreSQL: word is too long (" + std::to_string(word.size()) + " bytes, max " +
                             std::to_string(kMaxLexemeBytes) + " bytes)");
    at.emplace_back(word, static_cast<std::uint16_t>(pos));
  });
  // The count lexemes ('~', '~1', ...: tsvector_text's) sort among the words.
  std::vector<std::string> counts;
  for (std::size_t i = 0; i < tags; i += kMaxPositions) counts.push_back("~" + (i ? std::to_string(i / kMaxPositions) : ""));
  for (std::size_t k = 0; k < counts.size(); ++k)
    for (std::size_t n = 1; n <= kMaxPositions && k * kMaxPositions + n <= tags; ++n)
      at.emplace_back(counts[k], static_cast<std::uint16_t>(n));
  std::stable_sort(at.begin(), at.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  out.reserve(4 + at.size() * 12);
  put_be(out, std::int32_t{0});
  std::int32_t lexemes = 0;
  for (std::size_t i = 0; i < at.size();) {
    std::size_t j = i;
    while (j < at.size() && at[j].first == at[i].first) ++j;
    out.append(at[i].first);
    out += '\0';
    const std::size_t npos_at = out.size();
    put_be(out, std::uint16_t{0});
    std::uint16_t npos = 0;
    for (std::size_t k = i; k < j; ++k) {
      if (k > i && at[k].second == at[k - 1].second) continue;
      put_be(out, at[k].second);
      ++npos;
    }
    for (int b = 0; b < 2; ++b) out[npos_at + b] = static_cast<char>(npos >> (8 * (1 - b)) & 0xff);
    ++lexemes;
    i = j;
  }
  for (int b = 0; b < 4; ++b) out[b] = static_cast<char>(static_cast<std::uint32_t>(lexemes) >> (8 * (3 - b)) & 0xff);
  return out;
}

struct ConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultClear {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultClear>;

std::string param_text(const SqlValue& v) {
  if (auto p = std::get_if<std::int64_t>(&v)) return std::to_string(*p);
  if (auto d = std::get_if<double>(&v)) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", *d);
    return buf;
  }
  return std::get<std::string>(v);
}

// An integer column of a binary-format result (int2, int4 or int8: the
// value big-endian, two's complement).
std::int64_t binary_int(const PGresult* r, int row, int col) {
  const auto* v = reinterpret_cast<const unsigned char*>(PQgetvalue(r, row, col));
  const int len = PQgetlength(r, row, col);
  if (len != 2 && len != 4 && len != 8)
    fail("catalog.db", "PostgreSQL: column " + std::to_string(col) + " of a search row is not an integer (" +
                           std::to_string(len) + " bytes)");
  std::uint64_t x = (v[0] & 0x80) ? ~std::uint64_t{0} : 0;
  for (int i = 0; i < len; ++i) x = x << 8 | v[i];
  return static_cast<std::int64_t>(x);
}

// A float8 column of a binary-format result (IEEE 754, big-endian).
double binary_float8(const PGresult* r, int row, int col) {
  const auto* v = reinterpret_cast<const unsigned char*>(PQgetvalue(r, row, col));
  if (PQgetlength(r, row, col) != 8)
    fail("catalog.db", "PostgreSQL: column " + std::to_string(col) + " of a search row is not a float8");
  std::uint64_t x = 0;
  for (int i = 0; i < 8; ++i) x = x << 8 | v[i];
  double d;
  std::memcpy(&d, &x, sizeof d);
  return d;
}

// A PostgreSQL text[] literal of `items` (every element quoted).
std::string text_array(const std::vector<std::string>& items) {
  std::string s = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) s += ',';
    s += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') s += '\\';
      s += c;
    }
    s += '"';
  }
  return s + "}";
}

// bytea in its hex text form (backslash, x, two digits a byte).
std::string bytea_text(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out = "\\x";
  for (unsigned char c : bytes) out += digits[c >> 4], out += digits[c & 15];
  return out;
}

// Rows in COPY's text format: fields separated by tabs, rows ended by a
// newline, NULL as \N, and backslash, tab, newline and carriage return
// escaped in values.
class CopyRows {
 public:
  CopyRows& add(std::string_view v) {
    separate();
    for (char c : v) {
      switch (c) {
        case '\\': m_text += "\\\\"; break;
        case '\t': m_text += "\\t"; break;
        case '\n': m_text += "\\n"; break;
        case '\r': m_text += "\\r"; break;
        default: m_text += c;
      }
    }
    return *this;
  }
  CopyRows& add(std::int64_t v) {
    separate();
    m_text += std::to_string(v);
    return *this;
  }
  CopyRows& add(double v) {
    separate();
    m_text += param_text(v);
    return *this;
  }
  CopyRows& null() {
    separate();
    m_text += "\\N";
    return *this;
  }
  void end() {
    m_text += '\n';
    m_first = true;
  }
  const std::string& text() const { return m_text; }
  void clear() {
    m_text.clear();
    m_first = true;
  }

 private:
  void separate() {
    if (!m_first) m_text += '\t';
    m_first = false;
  }
  std::string m_text;
  bool m_first = true;
};

// Rows in COPY's binary format: a signature and header, then each row as
// its number of fields and each field as its length (-1: NULL) and its
// bytes in the column type's binary form, then -1. No value is escaped
// here or parsed by the server (text goes as it is, integers as 4 or 8
// bytes, the tsvector and the bigint[] in their binary forms).
class BinaryRows {
 public:
  BinaryRows() { m_data.append("PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0", 19); }
  BinaryRows& row(std::int16_t fields) {
    put_be(m_data, fields);
    return *this;
  }
  BinaryRows& add(std::string_view bytes) {
    put_be(m_data, static_cast<std::int32_t>(bytes.size()));
    m_data.append(bytes);
    return *this;
  }
  BinaryRows& int8(std::int64_t v) {
    put_be(m_data, std::int32_t{8});
    put_be(m_data, v);
    return *this;
  }
  BinaryRows& int4(std::int32_t v) {
    put_be(m_data, std::int32_t{4});
    put_be(m_data, v);
    return *this;
  }
  BinaryRows& null() {
    put_be(m_data, std::int32_t{-1});
    return *this;
  }
  // A one-dimensional bigint[] without NULLs (array_recv's form: the
  // dimensions, a flags word, the element type int8 and each element).
  BinaryRows& int8_array(const std::vector<std::int64_t>& values) {
    constexpr std::int32_t kInt8Oid = 20;
    const bool empty = values.empty();
    put_be(m_data, static_cast<std::int32_t>(empty ? 12 : 20 + 12 * values.size()));
    put_be(m_data, std::int32_t{empty ? 0 : 1});
    put_be(m_data, std::int32_t{0});
    put_be(m_data, kInt8Oid);
    if (!empty) {
      put_be(m_data, static_cast<std::int32_t>(values.size()));
      put_be(m_data, std::int32_t{1});
    }
    for (const auto v : values) int8(v);
    return *this;
  }
  // A one-dimensional text[] without NULLs (element type text), as
  // int8_array: each element its length and bytes.
  BinaryRows& text_array(const std::vector<std::string>& values) {
    constexpr std::int32_t kTextOid = 25;
    std::size_t bytes = values.empty() ? 12 : 20;
    for (const auto& v : values) bytes += 4 + v.size();
    put_be(m_data, static_cast<std::int32_t>(bytes));
    put_be(m_data, std::int32_t{values.empty() ? 0 : 1});
    put_be(m_data, std::int32_t{0});
    put_be(m_data, kTextOid);
    if (!values.empty()) {
      put_be(m_data, static_cast<std::int32_t>(values.size()));
      put_be(m_data, std::int32_t{1});
    }
    for (const auto& v : values) add(v);
    return *this;
  }
  // The trailer, after the last row.
  void finish() { put_be(m_data, std::int16_t{-1}); }
  const std::string& data() const { return m_data; }
  void clear() { m_data.clear(); }
  // The rows so far, handed over; the next rows start an empty buffer
  // with room for `room` bytes (a long stream held in parts of that size
  // is never copied to a larger buffer).
  std::string take(std::size_t room) {
    std::string out;
    out.swap(m_data);
    m_data.reserve(room);
    return out;
  }

 private:
  std::string m_data;
};

class PostgresCatalog final : public Catalog {
 public:
  explicit PostgresCatalog(const std::string& conninfo) {
    m_conn.reset(PQconnectdb(conninfo.c_str()));
    if (!m_conn || PQstatus(m_conn.get()) != CONNECTION_OK)
      fail("catalog.open",
           std::string("cannot connect to the PostgreSQL catalog: ") +
               (m_conn ? PQerrorMessage(m_conn.get()) : "out of memory"),
           {}, true);
    exec("SET client_min_messages = warning");
    // Concurrent first opens race on CREATE TABLE IF NOT EXISTS; a
    // transaction-scoped advisory lock serialises them.
    Tx tx(*this);
    exec("SELECT pg_advisory_xact_lock(4242001)");
    upgrade();
    tx.commit();
  }

  std::string backend() const override { return "postgresql"; }

  void put_collection(const Collection& c) override {
    query("INSERT INTO collections(name, schema, requires_approval, curators) VALUES ($1, $2, $3, $4) "
          "ON CONFLICT(name) DO UPDATE SET schema = excluded.schema, requires_approval = excluded.requires_approval, "
          "curators = excluded.curators",
          {c.name, c.schema.dump(), std::int64_t{c.requires_approval}, Json(c.curators).dump()});
  }

  std::optional<Collection> find_collection(const std::string& name) override {
    auto rows = query("SELECT name, schema, requires_approval, curators FROM collections WHERE name = $1", {name});
    if (rows.empty()) return std::nullopt;
    return collection_from(rows[0]);
  }

  std::vector<Collection> collections() override {
    std::vector<Collection> out;
    for (const auto& r : query("SELECT name, schema, requires_approval, curators FROM collections ORDER BY name", {}))
      out.push_back(collection_from(r));
    return out;
  }

  std::int64_t next_sequence(const std::string& name) override {
    auto rows = query("INSERT INTO sequences(name, value) VALUES ($1, 1) ON CONFLICT(name) DO UPDATE "
                      "SET value = sequences.value + 1 RETURNING value",
                      {name});
    return std::stoll(*rows.at(0).at(0));
  }

  int next_version(const std::string& identifier) override {
    auto rows = query("SELECT coalesce(max(version), 0) + 1 FROM entries WHERE identifier = $1", {identifier});
    return std::stoi(*rows.at(0).at(0));
  }

  void ingest(std::vector<Entry>& entries) override {
    if (entries.empty()) return;
    Tx tx(*this);
    // GIN's pending-list merge collects the batch's keys in work_mem
    // (default 4 MB) and merges them into the index each time it is full
    // (before version 8, the live_entries trigger also held the batch's
    // rows there, spilling a temporary file every 2,700 bench entries).
    // So the ingest's transaction (SET LOCAL: searches keep the session's
    // value) gets kIngestWorkMemPerEntry an entry, at least 64 MB and at
    // most 1 GB, or the session's value where that is higher.
    const std::int64_t work_kb =
        std::clamp<std::int64_t>(static_cast<std::int64_t>(entries.size()) * kIngestWorkMemPerEntry / 1024,
                                 64 * 1024, 1024 * 1024);
    query("SELECT set_config('work_mem', $1::bigint || 'kB', true) "
          "WHERE pg_size_bytes(current_setting('work_mem')) < $1::bigint * 1024",
          {work_kb});
    // The live rows' facet values coded (schema version 9); new codes are
    // given tentatively and settled before the live rows are sent.
    NewCodes codes(*this, NewCodes::Lock::Deferred);
    auto ids = query("SELECT nextval('entries_id_seq') FROM generate_series(1, $1)",
                     {static_cast<std::int64_t>(entries.size())});
    // The entries' rows go to the server while the next ones are made
    // (kCopyChunk at a time): the server stores a chunk while the client
    // formats the next, on the other core.
    CopyIn entries_in(*this,
                      "entries(id, identifier, version, collection, status, owner, visible_to, content, location, "
                      "manifest, bytes, files, published_ms, request_id, reason, decided_by, title, year, latest, "
                      "public, facets) FROM STDIN (FORMAT binary)");
    // The live rows (the published entries', inserted latest) follow in a
    // COPY of their own: the tsvector and the tags are stored only there.
    // They wait in parts of about kCopyChunk.
    BinaryRows entry_rows, live_rows;
    std::vector<std::string> live_parts;
    const auto add_live = [&](const Entry& e, const IndexTerms& terms, const std::vector<std::int64_t>& tags) {
      live_row(live_rows, e, terms, codes.live_facets(terms, e.row), tags);
      if (live_rows.data().size() >= kCopyChunk) live_parts.push_back(live_rows.take(kCopyChunk + kCopyChunk / 4));
    };
    std::vector<detail::FieldRow> fields;
    std::vector<std::string> published;
    for (std::size_t i = 0; i < entries.size(); ++i) {
      Entry& e = entries[i];
      e.row = std::stoll(*ids.at(i).at(0));
      IndexTerms terms = index_terms(e);
      const auto tags = tag_hashes(detail::add_field_rows(e.row, terms, "", fields));
      std::string facets = detail::pack_facet_values(terms);
      if (e.status == EntryStatus::Published) add_live(e, terms, tags);
      entry_rows.row(21).int8(e.row).add(e.identifier).int4(e.version).add(e.collection).add(to_string(e.status))
          .add(e.owner).add(Json(e.visible_to).dump()).add(e.content.dump()).add(e.location).add(e.manifest_digest)
          .int8(static_cast<std::int64_t>(e.bytes)).int8(static_cast<std::int64_t>(e.files)).int8(e.published_ms);
      if (e.request_id.empty()) entry_rows.null();
      else entry_rows.add(e.request_id);
      entry_rows.add(e.reason).add(e.decided_by).add(terms.title).int4(terms.year)
          .int4(e.status == EntryStatus::Published).int4(detail::is_public(e)).add(facets);
      if (e.status == EntryStatus::Published) published.push_back(e.identifier);
      if (entry_rows.data().size() >= kCopyChunk) {
        entries_in.send(entry_rows.data());
        entry_rows.clear();
      }
    }
    // COPY, not INSERT: no statement text or parameters to parse per row.
    entry_rows.finish();
    entries_in.send(entry_rows.data());
    entries_in.finish();
    if (!codes.settle()) {
      // Another writer gave codes while this batch gave its own: the live
      // rows are made again, coded under the lock (rare: only batches that
      // meet new facet values at the same time on two connections).
      live_rows = BinaryRows();
      live_parts.clear();
      std::vector<detail::FieldRow> again;
      for (const Entry& e : entries) {
        if (e.status != EntryStatus::Published) continue;
        const IndexTerms terms = index_terms(e);
        add_live(e, terms, tag_hashes(detail::add_field_rows(e.row, terms, "", again)));
      }
    }
    if (!published.empty()) {
      live_rows.finish();
      live_parts.push_back(live_rows.take(0));
      CopyIn live_in(*this, kLiveCopy);
      for (const auto& part : live_parts) live_in.send(part);
      live_in.finish();
    }
    copy_fields(fields);
    // A published entry was inserted with latest = 1 and a live row: right
    // when it is its identifier's only row (nearly always). Identifiers
    // with other versions are settled here; rewriting every new row (the
    // old way) doubled the cost of an ingest, GIN index included. Their
    // live rows may give codes: under the lock, taken before update_latest
    // locks their rows when the batch has a later version (only then can an
    // identifier have other rows), so a writer never waits for the lock
    // holding rows that the lock's holder (set_status) may update.
    if (!published.empty()) {
      if (std::any_of(entries.begin(), entries.end(), [](const Entry& e) { return e.version > 1; }))
        codes.settle(true);
      const auto changed = update_latest(published, true);
      if (!changed.empty()) codes.settle(true);
      refresh_live(changed, codes);
    }
    codes.store();
    tx.commit();
    codes.keep();
  }

  std::vector<Entry> versions(const std::string& identifier) override {
    std::vector<Entry> out;
    for (const auto& r : query(std::string("SELECT ") + detail::kEntryColumns +
                                   " FROM entries WHERE identifier = $1 ORDER BY version",
                               {identifier}))
      out.push_back(detail::entry_from_row(r));
    return out;
  }

  std::optional<Entry> by_request(const std::string& request_id) override {
    auto rows = query(std::string("SELECT ") + detail::kEntryColumns + " FROM entries WHERE request_id = $1",
                      {request_id});
    if (rows.empty()) return std::nullopt;
    return detail::entry_from_row(rows[0]);
  }

  void set_status(const std::string& identifier, int version, EntryStatus status, const std::string& reason,
                  const std::string& decided_by) override {
    Tx tx(*this);
    NewCodes codes(*this);
    query("UPDATE entries SET status = $1, reason = $2, decided_by = $3 WHERE identifier = $4 "
          "AND ($5::int = 0 OR version = $5::int)",
          {std::string(to_string(status)), reason, decided_by, identifier, std::int64_t{version}});
    update_latest({identifier});
    refresh_live({identifier}, codes);
    codes.store();
    tx.commit();
    codes.keep();
  }

  std::vector<Entry> pending() override {
    std::vector<Entry> out;
    for (const auto& r :
         query(std::string("SELECT ") + detail::kEntryColumns + " FROM entries WHERE status = 'pending' ORDER BY id", {}))
      out.push_back(detail::entry_from_row(r));
    return out;
  }

  SearchResult search(const Query& q, const Identity& identity) override {
    SearchResult result;
    // REPEATABLE READ: the page, the total and the facets see one snapshot.
    Tx tx(*this, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    // The codes of this snapshot, read first (they begin it), so every
    // live row it holds names codes read here (schema version 9). A terms
    // facet on a field some of whose values have no code counts the
    // entries rows' packed columns instead.
    PlanOptions options;
    if (std::any_of(q.facets.begin(), q.facets.end(), [](const Facet& f) { return f.kind == FacetKind::Terms; })) {
      read_codes(m_read_codes);
      for (const auto& f : q.facets)
        if (f.kind == FacetKind::Terms && m_read_codes.full(field_hash(f.field))) options.uncoded_terms = true;
    }
    const SearchPlan plan = plan_search(q, identity, Dialect::Postgres, options);
    detail::SearchRows found(q, plan);
    // Read in binary format, straight from the result: the integers as
    // they are sent, the text columns as their bytes, and each matched
    // entry's packed facet values (the last column, fv) counted where they
    // lie, instead of a row of copied strings and a hex decoding a hit
    // (at 12,000 hits ~4 us a hit of the client's CPU, mostly allocation).
    const Result res = exec_params(plan.search, 1);
    const PGresult* r = res.get();
    const int fv = 4 + static_cast<int>(plan.keys);
    auto text = [r](int row, int col) {
      return std::string(PQgetvalue(r, row, col), static_cast<std::size_t>(PQgetlength(r, row, col)));
    };
    // The live row's coded facet values, or with uncoded_terms the entries
    // row's packed ones, of row i's entry `id` (column `col`).
    auto facet_values = [&](int i, std::int64_t id, int col) {
      const std::string_view column =
          PQgetisnull(r, i, col) ? std::string_view()
                                 : std::string_view(PQgetvalue(r, i, col), static_cast<std::size_t>(PQgetlength(r, i, col)));
      if (options.uncoded_terms) found.add_facet_values(id, column);
      else found.add_coded_facet_values(id, column, m_read_codes);
    };
    if (plan.client_page) {
      // Every matched entry: its facet values counted, its sort values kept
      // for the page (page_of), the rows counted for the total.
      // Each sort column's type, told by its name once a statement, not at
      // each row: the score float8, year and published_ms integers, title
      // and identifier text.
      enum class Kind { Float8, Int, Text };
      std::vector<Kind> columns;
      for (const int col : plan.sort_columns) {
        const std::string_view name = PQfname(r, col);
        columns.push_back(name == "score"                                 ? Kind::Float8
                          : name == "year" || name == "published_ms" ? Kind::Int
                                                                          : Kind::Text);
      }
      const int n = PQntuples(r);
      MatchedRows matched{columns.size(), {}, {}};
      matched.ids.reserve(static_cast<std::size_t>(n));
      matched.keys.reserve(static_cast<std::size_t>(n) * columns.size());
      for (int i = 0; i < n; ++i) {
        const std::int64_t id = binary_int(r, i, 0);
        matched.ids.push_back(id);
        for (std::size_t k = 0; k < columns.size(); ++k) {
          const int col = plan.sort_columns[k];
          switch (columns[k]) {
            case Kind::Float8: matched.keys.emplace_back(binary_float8(r, i, col)); break;
            case Kind::Int: matched.keys.emplace_back(binary_int(r, i, col)); break;
            case Kind::Text: matched.keys.emplace_back(text(i, col)); break;
          }
        }
        facet_values(i, id, plan.facets_column);
      }
      found.set_total(n);
      const auto page = page_of(matched, plan.sort, plan.cursor, static_cast<std::size_t>(q.limit) + 1);
      for (std::size_t p = 0; p < page.size(); ++p) {
        std::vector<std::string> keys;
        for (std::size_t k = 0; k < columns.size(); ++k)  // a score to 17 digits: the same double
          keys.push_back(param_text(matched.keys[page[p] * columns.size() + k]));
        found.add_page(static_cast<std::int64_t>(p) + 1, matched.ids[page[p]], std::move(keys));
      }
    }
    for (int i = 0, n = plan.client_page ? 0 : PQntuples(r); i < n; ++i) {
      const std::int64_t part = binary_int(r, i, 0);
      if (part == 0) {
        std::vector<std::string> keys;
        for (std::size_t k = 0; k < plan.sort.size(); ++k) keys.push_back(text(i, 4 + static_cast<int>(k)));
        found.add_page(binary_int(r, i, 1), binary_int(r, i, 2), std::move(keys));
      } else if (part == 1) {
        found.set_total(binary_int(r, i, 3));
      } else if (found.is_facet_values(part)) {
        facet_values(i, binary_int(r, i, 2), fv);
      } else {
        found.add_bucket(part, binary_int(r, i, 1), text(i, 4), binary_int(r, i, 3));
      }
    }
    // The entries the page shows and those naming the terms facets'
    // buckets, loaded in one statement (a round trip and a statement's
    // fixed cost each, before); later look-ups load only what is new.
    std::map<std::int64_t, Entry> loaded;
    auto load_new = [&](const std::vector<std::int64_t>& wanted) {
      std::vector<std::int64_t> ids;
      for (const auto id : wanted)
        if (!loaded.count(id)) ids.push_back(id);
      if (ids.empty()) return;
      std::sort(ids.begin(), ids.end());
      ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
      for (auto& e : load(ids)) {
        const std::int64_t row = e.row;
        loaded.emplace(row, std::move(e));
      }
    };
    const std::vector<std::int64_t> page = found.page_ids(q.limit);
    auto rows = found.finish(result, [&](const std::vector<detail::FieldKey>& keys) {
      std::vector<std::int64_t> ids = detail::entries_of(keys);
      ids.insert(ids.end(), page.begin(), page.end());
      load_new(ids);
      return detail::field_texts_of(keys, loaded);
    });
    const bool more = rows.size() > static_cast<std::size_t>(q.limit);
    if (more) rows.pop_back();
    if (!rows.empty()) {
      std::vector<std::int64_t> ids;
      for (const auto& r : rows) ids.push_back(r.id);
      load_new(ids);
      const bool verify = detail::has_exact_filters(q.filters);
      for (const auto& r : rows) {
        auto it = loaded.find(r.id);
        if (it == loaded.end() || (verify && !detail::holds_exact_filters(q.filters, it->second))) continue;
        SearchHit hit{it->second, 0};
        for (std::size_t i = 0; i < plan.sort.size(); ++i)
          if (plan.sort[i].field == "_score") hit.score = std::stod(r.keys[i]);
        result.hits.push_back(std::move(hit));
      }
      result.marker = detail::next_marker(plan, rows.back().id, rows.back().keys, more);
    }
    tx.commit();
    return result;
  }

 private:
  // A write transaction is READ COMMITTED whatever the session's default
  // (a server or role may set default_transaction_isolation): each
  // statement sees what other writers committed before it, which the codes'
  // settle() (a look after taking kCodesLock) and update_latest rely on.
  class Tx {
   public:
    explicit Tx(PostgresCatalog& c, const char* begin = "BEGIN ISOLATION LEVEL READ COMMITTED") : m_c(c) {
      m_c.exec(begin);
    }
    void commit() {
      m_c.exec("COMMIT");
      m_open = false;
    }
    ~Tx() {
      if (m_open) Result(PQexec(m_c.m_conn.get(), "ROLLBACK"));
    }

   private:
    PostgresCatalog& m_c;
    bool m_open = true;
  };

  // Brings `codes` up to the catalog's facet_codes as the current snapshot
  // holds them (codes are only ever added, in order).
  void read_codes(detail::FacetCodes& codes) {
    for (const auto& r : query("SELECT code, field, value FROM facet_codes WHERE code > $1 ORDER BY code",
                               {static_cast<std::int64_t>(codes.size())})) {
      if (std::stoll(*r.at(0)) != static_cast<std::int64_t>(codes.size()) + 1)
        fail("catalog.db", "a catalog row cannot be read: facet_codes skips code " + std::to_string(codes.size() + 1),
             {{"table", "facet_codes"}});
      codes.append({static_cast<std::uint32_t>(std::stoll(*r.at(1))),
                    static_cast<std::uint64_t>(std::stoll(*r.at(2)))});
    }
  }

  // The codes one write transaction gives (facet_codes.hpp), given by one
  // writer at a time under kCodesLock (held to the transaction's end); the
  // new ones stored by store() with the rows that use them and kept in
  // memory only once the transaction commits (keep()). Eager (set_status,
  // a conversion): the lock is taken first and the writer's codes brought
  // up to the catalog's, as SQLite's NewCodes. Deferred (ingest): the codes
  // are read without the lock and new ones given tentatively; settle()
  // takes the lock only when the batch gave any, and says whether another
  // writer gave codes meanwhile (then the tentative ones are dropped and
  // the batch must code its rows again). A batch whose values all have
  // codes (every bench batch after the first few) never takes the lock, so
  // ingests on several connections do not wait on each other for it.
  class NewCodes {
   public:
    enum class Lock { Eager, Deferred };
    explicit NewCodes(PostgresCatalog& c, Lock when = Lock::Eager) : m_c(c) {
      if (when == Lock::Eager) take_lock();
      m_c.read_codes(m_c.m_write_codes);
      m_from = m_c.m_write_codes.size();
    }
    NewCodes(const NewCodes&) = delete;
    NewCodes& operator=(const NewCodes&) = delete;
    ~NewCodes() {
      if (!m_kept) m_c.m_write_codes.truncate(m_from);
    }
    // The live row's facets column: the entry's coded values alone
    // (coded_values_only), giving its values codes.
    std::string live_facets(const IndexTerms& terms, std::int64_t row) {
      return detail::coded_values_only(detail::code_facet_values(detail::facet_values_of(terms), m_c.m_write_codes),
                                       row);
    }
    // Takes the lock if this transaction gave codes (or `always`) and does
    // not hold it yet. False when codes it gave tentatively were also given
    // by another writer since they were read: they are forgotten, the
    // catalog's read, and the caller codes its rows again (under the lock).
    bool settle(bool always = false) {
      if (m_locked || (!always && m_c.m_write_codes.size() == m_from)) return true;
      take_lock();
      const bool tentative = m_c.m_write_codes.size() > m_from;
      const auto stored = std::stoll(*m_c.query("SELECT coalesce(max(code), 0) FROM facet_codes", {}).at(0).at(0));
      if (stored == static_cast<std::int64_t>(m_from)) return true;
      m_c.m_write_codes.truncate(m_from);
      m_c.read_codes(m_c.m_write_codes);
      m_from = m_c.m_write_codes.size();
      return !tentative;
    }
    void store() {
      const auto& all = m_c.m_write_codes.values();
      if (all.size() > m_from && !m_locked)
        fail("catalog.db", "beamflow: facet codes given without the codes lock (a bug)", {});
      CopyRows rows;
      for (std::size_t i = m_from; i < all.size(); ++i)
        rows.add(static_cast<std::int64_t>(i + 1)).add(static_cast<std::int64_t>(all[i].field))
            .add(static_cast<std::int64_t>(all[i].value)).end();
      m_c.copy_in("facet_codes(code, field, value)", rows);
    }
    void keep() { m_kept = true; }

   private:
    void take_lock() {
      m_c.exec(kCodesLock);
      m_locked = true;
    }
    PostgresCatalog& m_c;
    std::size_t m_from = 0;
    bool m_kept = false, m_locked = false;
  };

  // The entries of these row ids, in no particular order.
  std::vector<Entry> load(const std::vector<std::int64_t>& ids) {
    std::vector<std::string> texts;
    for (const auto id : ids) texts.push_back(std::to_string(id));
    std::vector<Entry> out;
    for (const auto& r : query(std::string("SELECT ") + detail::kEntryColumns + " FROM entries WHERE id = ANY($1::bigint[])",
                               {text_array(texts)}))
      out.push_back(detail::entry_from_row(r));
    return out;
  }

  [[noreturn]] void raise(PGresult* r) {
    const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    const std::string msg = r ? PQresultErrorMessage(r) : PQerrorMessage(m_conn.get());
    const std::string code = state ? state : "";
    std::string text = msg;
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    if (code == "23505") fail("dataset.conflict", "already recorded (a concurrent publish?): " + text, {}, true);
    // 40001 serialization failure, 40P01 deadlock, 08* connection trouble.
    const bool retryable = code == "40001" || code == "40P01" || code.rfind("08", 0) == 0 || code.empty();
    fail("catalog.db", "PostgreSQL: " + text, {}, retryable);
  }

  void exec(const char* sql) {
    Result r(PQexec(m_conn.get(), sql));
    const auto st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) raise(r.get());
  }

  // One statement with its parameters (as text); its result in text
  // (format 0) or binary (1) format.
  Result exec_params(const Sql& sql, int format) {
    std::vector<std::string> texts;
    texts.reserve(sql.params.size());
    for (const auto& p : sql.params) texts.push_back(param_text(p));
    std::vector<const char*> values;
    for (const auto& t : texts) values.push_back(t.c_str());
    Result r(PQexecParams(m_conn.get(), sql.text.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                          nullptr, nullptr, format));
    const auto st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) raise(r.get());
    return r;
  }

  std::vector<Row> query(const std::string& sql, const std::vector<SqlValue>& params) {
    const Result r = exec_params(Sql{sql, params}, 0);
    std::vector<Row> rows;
    const int n = PQntuples(r.get()), cols = PQnfields(r.get());
    rows.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      Row row;
      for (int c = 0; c < cols; ++c)
        row.push_back(PQgetisnull(r.get(), i, c) ? std::nullopt
                                                 : std::optional<std::string>(std::string(
                                                       PQgetvalue(r.get(), i, c),
                                                       static_cast<std::size_t>(PQgetlength(r.get(), i, c)))));
      rows.push_back(std::move(row));
    }
    return rows;
  }

  // A COPY ... FROM STDIN into `target` ("table" or "table(columns)"),
  // its rows sent as they come (send) and ended by finish. Left unfinished
  // (an exception while the rows are made), it is ended as failed: the
  // server discards what it got and the connection stays usable for the
  // transaction's ROLLBACK.
  class CopyIn {
   public:
    CopyIn(PostgresCatalog& c, const std::string& target) : m_c(c) {
      const std::string sql = "COPY " + target + (target.find(" FROM STDIN") == std::string::npos ? " FROM STDIN" : "");
      Result start(PQexec(m_c.m_conn.get(), sql.c_str()));
      if (!start || PQresultStatus(start.get()) != PGRES_COPY_IN) m_c.raise(start.get());
    }
    CopyIn(const CopyIn&) = delete;
    CopyIn& operator=(const CopyIn&) = delete;
    void send(std::string_view data) {
      for (std::size_t at = 0; m_sent && at < data.size(); at += kCopyChunk) {
        const std::size_t n = std::min(kCopyChunk, data.size() - at);
        m_sent = PQputCopyData(m_c.m_conn.get(), data.data() + at, static_cast<int>(n)) == 1;
      }
    }
    void finish() {
      m_open = false;
      Result failed = end(m_sent ? nullptr : "beamflow: sending the rows failed");
      if (failed || !m_sent) m_c.raise(failed.get());
    }
    ~CopyIn() {
      if (m_open) end("beamflow: the ingest stopped before its rows were sent");
    }

   private:
    // Ends the COPY and drains every result (so the connection stays
    // usable); the first failed one, if any.
    Result end(const char* error) {
      PQputCopyEnd(m_c.m_conn.get(), error);
      Result failed;
      while (PGresult* r = PQgetResult(m_c.m_conn.get())) {
        Result cur(r);
        if (PQresultStatus(r) != PGRES_COMMAND_OK && !failed) failed = std::move(cur);
      }
      return failed;
    }
    PostgresCatalog& m_c;
    bool m_open = true, m_sent = true;
  };

  // COPY ... FROM STDIN of `rows` into `target`.
  void copy_in(const std::string& target, const CopyRows& rows) {
    if (rows.text().empty()) return;
    CopyIn in(*this, target);
    in.send(rows.text());
    in.finish();
  }
  static constexpr std::size_t kCopyChunk = 1 << 20;
  // work_mem an ingested entry (its row as the insert trigger holds it:
  // about 1.5 KB a bench entry).
  static constexpr std::int64_t kIngestWorkMemPerEntry = 4096;

  // COPY of field rows, in key order (appended at the end of each field's
  // range of the fields index).
  void copy_fields(std::vector<detail::FieldRow>& fields) {
    detail::sort_field_rows(fields);
    CopyRows rows;
    for (const auto& [row, f] : fields) {
      rows.add(f.field).add(row).add(f.text);
      if (f.has_number) rows.add(f.number);
      else rows.null();
      rows.end();
    }
    copy_in("fields(field, entry, sval, nval)", rows);
  }

  // Creates the schema, or brings an older catalog's to kSchemaVersion.
  // Runs inside the opening transaction: all or nothing.
  void upgrade() {
    const bool existing =
        *query("SELECT to_regclass('entries') IS NOT NULL AND to_regclass('catalog_meta') IS NULL", {}).at(0).at(0) == "t";
    if (existing) exec(kFromVersion1);
    exec(kSchema);
    const auto version = query("SELECT value FROM catalog_meta WHERE name = 'schema_version'", {});
    if (!version.empty() && std::stoll(*version[0][0]) > kSchemaVersion)
      fail("catalog.open", "the catalog was made by a newer beamflow (schema version " + *version[0][0] +
                               ", this one knows " + std::to_string(kSchemaVersion) + ")");
    const std::int64_t from = existing ? 1 : version.empty() ? kSchemaVersion : std::stoll(*version[0][0]);
    // A new catalog gets kSchema's layout; an older one goes through the
    // version-7 layout of entries (tsvector and tags, rewritten by
    // reindex), its live rows copied from there (kLiveEntries), then
    // kTagOnce.
    if (from < 8) exec(kNoLiveTriggers);
    if (from < 3) exec("ALTER TABLE entries ADD COLUMN IF NOT EXISTS facets BYTEA");
    if (from < 7) exec(kTags);
    if (version.empty() || from < 7) exec(kTagsIndex);
    if (from < 7) reindex(from < 2);
    if (version.empty() || from < 4) exec(kFieldTexts);
    // Version 4 keeps field rows for numbers and dates only (those have nval).
    if (from < 4) exec("DELETE FROM fields WHERE nval IS NULL");
    // Before version 10 (an older catalog's live rows are rewritten by
    // rebuild_live below, a version-9 one's filled in place).
    if (from < 10) exec(kAddPrincipals);
    if (from == 9) exec(kPrincipals);
    if (from < 7) exec(kLiveEntries);
    if (from < 8) exec(kTagOnce);
    if (from < 9) rebuild_live();
    // Version 9 also drops entries' index of published_ms, which no
    // statement reads (searches sort and filter live_entries): one B-tree
    // insert less an ingested entry.
    if (from < 9) exec("DROP INDEX IF EXISTS entries_published");
    // Version 11: the visibility table, unread since version 10 (a
    // version-9 catalog's was read by kPrincipals above), dropped with
    // its two indexes.
    if (from < 11) exec("DROP TABLE IF EXISTS visibility");
    query("INSERT INTO catalog_meta(name, value) VALUES ('schema_version', $1) "
          "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
          {std::int64_t{kSchemaVersion}});
  }

  // Version 9 for an older catalog (in the opening transaction, after the
  // steps before it): every live row made again from its entry's content
  // by the ingest's code (live_row), its facet values coded, the GIN
  // indexes dropped first and built again over the new rows (a row
  // rewritten in place would add an entry to both a row). At 1,000,000
  // entries this reads every live entry once: minutes, once.
  void rebuild_live() {
    exec("DROP INDEX IF EXISTS live_entries_tsv");
    exec("DROP INDEX IF EXISTS live_entries_tags");
    exec("CREATE TEMP TABLE live_ids ON COMMIT DROP AS SELECT id FROM live_entries");
    exec("TRUNCATE live_entries");
    NewCodes codes(*this);
    for (std::int64_t last = 0;;) {
      const auto rows = query(std::string("SELECT ") + detail::kEntryColumns +
                                  " FROM entries WHERE id IN (SELECT id FROM live_ids WHERE id > $1 ORDER BY id "
                                  "LIMIT 10000) ORDER BY id",
                              {last});
      if (rows.empty()) break;
      copy_live_rows(rows, codes);
      last = std::stoll(*rows.back()[0]);
    }
    codes.store();
    exec("CREATE INDEX live_entries_tsv ON live_entries USING GIN(tsv)");
    exec(kTagsIndex);
    // The opening transaction commits or the catalog is not opened at all
    // (this object is never made), so the codes can be kept now.
    codes.keep();
  }

  // Calls f(entry, its index terms, its exact-filter hashes) for each row
  // of kEntryColumns, adding the entries' field rows to `fields`.
  template <class F>
  static void for_each_entry(const std::vector<Row>& rows, std::vector<detail::FieldRow>& fields, F&& f) {
    for (const auto& r : rows) {
      const Entry e = detail::entry_from_row(r);
      const IndexTerms terms = index_terms(e);
      f(e, terms, tag_hashes(detail::add_field_rows(e.row, terms, "", fields)));
    }
  }

  // Recomputes every entry's packed facet values, tsvector and filter
  // hashes from its content, in batches, and rewrites the rows where any
  // differs; with `fields_rows` (a version-1 catalog) also adds its fields
  // rows.
  void reindex(bool fields_rows) {
    exec("CREATE TEMP TABLE reindex_in(id BIGINT, tsv TSVECTOR, facets BYTEA, tags BIGINT[]) ON COMMIT DROP");
    std::string last = "0";
    for (;;) {
      const auto rows = query(std::string("SELECT ") + detail::kEntryColumns +
                                  " FROM entries WHERE id > $1 ORDER BY id LIMIT 10000",
                              {std::stoll(last)});
      if (rows.empty()) break;
      CopyRows staged;
      std::vector<detail::FieldRow> fields;
      for_each_entry(rows, fields, [&](const Entry& e, const IndexTerms& terms, const std::vector<std::int64_t>& tags) {
        staged.add(e.row).add(tsvector_text(terms.text, tags.size())).add(bytea_text(detail::pack_facet_values(terms)))
            .add(tag_array(tags)).end();
      });
      copy_in("reindex_in", staged);
      exec("UPDATE entries e SET facets = r.facets, tsv = r.tsv, tags = r.tags FROM reindex_in r "
           "WHERE e.id = r.id AND (e.tsv <> r.tsv OR e.facets IS DISTINCT FROM r.facets OR e.tags <> r.tags)");
      exec("TRUNCATE reindex_in");
      if (fields_rows) copy_fields(fields);
      last = *rows.back()[0];
    }
  }

  // Sets `latest` for `identifiers`: 1 on the highest published version, 0
  // on every other row. With `several_only`, identifiers that have a single
  // row are left as the ingest inserted them. Returns the identifiers of
  // the rows it changed (once each).
  std::vector<std::string> update_latest(const std::vector<std::string>& identifiers, bool several_only = false) {
    const auto rows = query(std::string("UPDATE entries e SET latest = CASE WHEN e.version = x.v THEN 1 ELSE 0 END "
                      "FROM (SELECT w.identifier, max(w.version) FILTER (WHERE w.status = 'published') AS v "
                      "FROM entries w WHERE w.identifier = ANY($1::text[]) GROUP BY w.identifier") +
              (several_only ? " HAVING count(*) > 1" : "") +
              ") x WHERE e.identifier = x.identifier AND e.latest <> CASE WHEN e.version = x.v THEN 1 ELSE 0 END "
              "RETURNING e.identifier",
          {text_array(identifiers)});
    std::vector<std::string> changed;
    for (const auto& r : rows) changed.push_back(*r[0]);
    std::sort(changed.begin(), changed.end());
    changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
    return changed;
  }

  // A live_entries row of `e` (kLiveCopy's columns) in COPY's binary form;
  // `facets` is its coded column (NewCodes::live_facets).
  static void live_row(BinaryRows& rows, const Entry& e, const IndexTerms& terms, const std::string& facets,
                       const std::vector<std::int64_t>& tags) {
    rows.row(10).int8(e.row).int4(detail::is_public(e)).int4(terms.year).int8(e.published_ms).add(e.identifier)
        .add(terms.title).add(facets).add(tsvector_binary(terms.text, tags.size())).int8_array(tags)
        .text_array(detail::visibility_rows(e));
  }
  static constexpr const char* kLiveCopy =
      "live_entries(id, public, year, published_ms, identifier, title, facets, tsv, tags, principals) FROM STDIN "
      "(FORMAT binary)";

  // Brings the live rows of `identifiers` in step with their entries (in
  // the caller's transaction): deletes those of rows no longer published
  // and latest, and makes those of rows that became so from their content
  // (their facet values coded with `codes`).
  void refresh_live(const std::vector<std::string>& identifiers, NewCodes& codes) {
    if (identifiers.empty()) return;
    const std::string ids = text_array(identifiers);
    query("DELETE FROM live_entries l USING entries e WHERE l.id = e.id AND e.identifier = ANY($1::text[]) "
          "AND NOT (e.status = 'published' AND e.latest = 1)",
          {ids});
    const auto rows = query(std::string("SELECT ") + detail::kEntryColumns +
                                " FROM entries e WHERE e.identifier = ANY($1::text[]) AND e.status = 'published' "
                                "AND e.latest = 1 AND NOT EXISTS (SELECT 1 FROM live_entries l WHERE l.id = e.id)",
                            {ids});
    if (rows.empty()) return;
    copy_live_rows(rows, codes);
  }

  // COPY of the live rows of these rows of kEntryColumns, made from their
  // content as ingest makes them (facet values coded with `codes`).
  void copy_live_rows(const std::vector<Row>& rows, NewCodes& codes) {
    BinaryRows live_rows;
    std::vector<detail::FieldRow> fields;
    for_each_entry(rows, fields, [&](const Entry& e, const IndexTerms& terms, const std::vector<std::int64_t>& tags) {
      live_row(live_rows, e, terms, codes.live_facets(terms, e.row), tags);
    });
    live_rows.finish();
    CopyIn in(*this, kLiveCopy);
    in.send(live_rows.data());
    in.finish();
  }

  static Collection collection_from(const Row& r) {
    return detail::collection_from_row(r[0].value_or(""), r[1].value_or(""), r[2].value_or("0") != "0",
                                       r[3].value_or(""));
  }

  std::unique_ptr<PGconn, ConnCloser> m_conn;
  detail::FacetCodes m_write_codes;  // as this catalog's writes last read or gave them
  detail::FacetCodes m_read_codes;   // as the last search read them
};

}  // namespace

std::unique_ptr<Catalog> open_postgres_catalog(const std::string& conninfo) {
  return std::make_unique<PostgresCatalog>(conninfo);
}

}  // namespace beamflow::catalog
