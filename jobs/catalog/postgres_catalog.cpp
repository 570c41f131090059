// The facility-wide catalog on PostgreSQL (libpq). Free text is a tsvector
// column (the 'simple' configuration over the same tokens SQLite indexes)
// with a GIN index. Bulk ingest sends multi-row INSERTs of bound parameters
// (up to PostgreSQL's 65535 per statement): one round trip per few thousand
// rows instead of one per row.
#include <libpq-fe.h>

#include <cstdio>
#include <cstring>
#include <map>

#include "jobs/catalog/backend_support.hpp"
#include "jobs/catalog/catalog.hpp"
#include "jobs/catalog/errors.hpp"

namespace beamflow::catalog {
namespace {

using Row = std::vector<std::optional<std::string>>;

const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS collections(
  name TEXT PRIMARY KEY, schema TEXT NOT NULL, requires_approval INTEGER NOT NULL, curators TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sequences(name TEXT PRIMARY KEY, value BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS entries(
  id BIGSERIAL PRIMARY KEY, identifier TEXT COLLATE "C" NOT NULL, version INTEGER NOT NULL,
  collection TEXT NOT NULL, status TEXT NOT NULL, latest INTEGER NOT NULL DEFAULT 0, owner TEXT NOT NULL,
  visible_to TEXT NOT NULL, content TEXT NOT NULL, location TEXT NOT NULL, manifest TEXT NOT NULL,
  bytes BIGINT NOT NULL, files BIGINT NOT NULL, published_ms BIGINT NOT NULL, request_id TEXT,
  reason TEXT NOT NULL DEFAULT '', decided_by TEXT NOT NULL DEFAULT '', title TEXT COLLATE "C" NOT NULL,
  year INTEGER NOT NULL, tsv tsvector NOT NULL, UNIQUE(identifier, version));
CREATE UNIQUE INDEX IF NOT EXISTS entries_request ON entries(request_id) WHERE request_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS entries_published ON entries(published_ms);
CREATE INDEX IF NOT EXISTS entries_tsv ON entries USING GIN(tsv);
CREATE TABLE IF NOT EXISTS visibility(principal TEXT NOT NULL, entry BIGINT NOT NULL, PRIMARY KEY(entry, principal));
CREATE TABLE IF NOT EXISTS fields(entry BIGINT NOT NULL, field TEXT COLLATE "C" NOT NULL,
  sval TEXT COLLATE "C" NOT NULL, nval DOUBLE PRECISION, PRIMARY KEY(entry, field, sval));
CREATE INDEX IF NOT EXISTS fields_text ON fields(field, sval);
)sql";

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
    exec(kSchema);
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
    auto ids = query("SELECT nextval('entries_id_seq') FROM generate_series(1, $1)",
                     {static_cast<std::int64_t>(entries.size())});
    std::vector<std::vector<SqlValue>> entry_rows, vis_rows, field_rows;
    std::vector<std::string> published;
    for (std::size_t i = 0; i < entries.size(); ++i) {
      Entry& e = entries[i];
      e.row = std::stoll(*ids.at(i).at(0));
      const IndexTerms terms = index_terms(e);
      entry_rows.push_back({e.row, e.identifier, std::int64_t{e.version}, e.collection, std::string(to_string(e.status)),
                            e.owner, Json(e.visible_to).dump(), e.content.dump(), e.location, e.manifest_digest,
                            static_cast<std::int64_t>(e.bytes), static_cast<std::int64_t>(e.files), e.published_ms,
                            e.request_id, e.reason, e.decided_by, terms.title, std::int64_t{terms.year}, terms.text,
                            std::int64_t{e.status == EntryStatus::Published}});
      for (const auto& p : detail::visibility_rows(e)) vis_rows.push_back({p, e.row});
      for (const auto& f : detail::unique_fields(terms))
        field_rows.push_back({e.row, f.field, f.text, f.has_number ? SqlValue(f.number) : SqlValue(std::string())});
      if (e.status == EntryStatus::Published) published.push_back(e.identifier);
    }
    insert_rows("INSERT INTO entries(id, identifier, version, collection, status, owner, visible_to, content, location, "
                "manifest, bytes, files, published_ms, request_id, reason, decided_by, title, year, tsv, latest) VALUES ",
                "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, NULLIF($14, ''), $15, $16, $17, $18, "
                "to_tsvector('simple', $19), $20)",
                20, entry_rows);
    insert_rows("INSERT INTO visibility(principal, entry) VALUES ", "($1, $2)", 2, vis_rows);
    insert_rows("INSERT INTO fields(entry, field, sval, nval) VALUES ", "($1, $2, $3, NULLIF($4, '')::float8)", 4,
                field_rows);
    // A published entry was inserted with latest = 1: right when it is its
    // identifier's only row (nearly always). Identifiers with other versions
    // are settled here; rewriting every new row (the old way) doubled the
    // cost of an ingest, GIN index included.
    if (!published.empty()) update_latest(published, true);
    tx.commit();
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
    query("UPDATE entries SET status = $1, reason = $2, decided_by = $3 WHERE identifier = $4 "
          "AND ($5::int = 0 OR version = $5::int)",
          {std::string(to_string(status)), reason, decided_by, identifier, std::int64_t{version}});
    update_latest({identifier});
    tx.commit();
  }

  std::vector<Entry> pending() override {
    std::vector<Entry> out;
    for (const auto& r :
         query(std::string("SELECT ") + detail::kEntryColumns + " FROM entries WHERE status = 'pending' ORDER BY id", {}))
      out.push_back(detail::entry_from_row(r));
    return out;
  }

  SearchResult search(const Query& q, const Identity& identity) override {
    const SearchPlan plan = plan_search(q, identity, Dialect::Postgres);
    SearchResult result;
    // REPEATABLE READ: the page, the total and the facets see one snapshot.
    Tx tx(*this, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    std::vector<Row> rows;
    for (const auto& f : q.facets) result.facets.push_back(FacetResult{f.name, {}});
    for (auto& r : query(plan.search.text, plan.search.params)) {
      const int part = std::stoi(*r[0]);
      if (part == 0) {
        rows.push_back(std::move(r));
      } else if (part == 1) {
        result.total = std::stoll(*r[3]);
      } else {
        const auto i = static_cast<std::size_t>(part - 2);
        result.facets.at(i).buckets.push_back(detail::facet_bucket(q.facets[i], *r[4], std::stoll(*r[3])));
      }
    }
    const bool more = rows.size() > static_cast<std::size_t>(q.limit);
    if (more) rows.pop_back();
    if (!rows.empty()) {
      std::vector<std::string> ids;
      for (const auto& r : rows) ids.push_back(*r[2]);
      std::map<std::int64_t, Entry> loaded;
      for (const auto& r : query(std::string("SELECT ") + detail::kEntryColumns +
                                     " FROM entries WHERE id = ANY($1::bigint[])",
                                 {text_array(ids)})) {
        Entry e = detail::entry_from_row(r);
        loaded.emplace(e.row, std::move(e));
      }
      for (const auto& r : rows) {
        auto it = loaded.find(std::stoll(*r[2]));
        if (it == loaded.end()) continue;
        SearchHit hit{it->second, 0};
        for (std::size_t i = 0; i < plan.sort.size(); ++i)
          if (plan.sort[i].field == "_score") hit.score = std::stod(*r[4 + i]);
        result.hits.push_back(std::move(hit));
      }
      std::vector<std::string> keys;
      for (std::size_t i = 0; i < plan.sort.size(); ++i) keys.push_back(*rows.back()[4 + i]);
      result.marker = detail::next_marker(plan, std::stoll(*rows.back()[2]), keys, more);
    }
    tx.commit();
    return result;
  }

 private:
  class Tx {
   public:
    explicit Tx(PostgresCatalog& c, const char* begin = "BEGIN") : m_c(c) { m_c.exec(begin); }
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

  std::vector<Row> query(const std::string& sql, const std::vector<SqlValue>& params) {
    std::vector<std::string> texts;
    texts.reserve(params.size());
    for (const auto& p : params) texts.push_back(param_text(p));
    std::vector<const char*> values;
    for (const auto& t : texts) values.push_back(t.c_str());
    Result r(PQexecParams(m_conn.get(), sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                          nullptr, nullptr, 0));
    const auto st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) raise(r.get());
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

  // INSERT `head` + "(...), (...)" with `tuple` (written with $1..$width)
  // renumbered per row, in statements of at most 65535 parameters.
  void insert_rows(const std::string& head, const std::string& tuple, int width,
                   const std::vector<std::vector<SqlValue>>& rows) {
    const std::size_t per = 65535 / static_cast<std::size_t>(width);
    for (std::size_t start = 0; start < rows.size(); start += per) {
      const std::size_t end = std::min(rows.size(), start + per);
      std::string sql = head;
      std::vector<SqlValue> params;
      for (std::size_t i = start; i < end; ++i) {
        if (i > start) sql += ", ";
        // Renumber $k to $(k + offset) for this row.
        const std::size_t offset = params.size();
        for (std::size_t p = 0; p < tuple.size(); ++p) {
          if (tuple[p] == '$') {
            std::size_t q = p + 1;
            int k = 0;
            while (q < tuple.size() && std::isdigit(static_cast<unsigned char>(tuple[q]))) k = k * 10 + (tuple[q++] - '0');
            sql += "$" + std::to_string(static_cast<std::size_t>(k) + offset);
            p = q - 1;
          } else {
            sql += tuple[p];
          }
        }
        params.insert(params.end(), rows[i].begin(), rows[i].end());
      }
      query(sql, params);
    }
  }

  // Sets `latest` for `identifiers`: 1 on the highest published version, 0
  // on every other row. With `several_only`, identifiers that have a single
  // row are left as the ingest inserted them.
  void update_latest(const std::vector<std::string>& identifiers, bool several_only = false) {
    query(std::string("UPDATE entries e SET latest = CASE WHEN e.version = x.v THEN 1 ELSE 0 END "
                      "FROM (SELECT w.identifier, max(w.version) FILTER (WHERE w.status = 'published') AS v "
                      "FROM entries w WHERE w.identifier = ANY($1::text[]) GROUP BY w.identifier") +
              (several_only ? " HAVING count(*) > 1" : "") +
              ") x WHERE e.identifier = x.identifier AND e.latest <> CASE WHEN e.version = x.v THEN 1 ELSE 0 END",
          {text_array(identifiers)});
  }

  static Collection collection_from(const Row& r) {
    return detail::collection_from_row(r[0].value_or(""), r[1].value_or(""), r[2].value_or("0") != "0",
                                       r[3].value_or(""));
  }

  std::unique_ptr<PGconn, ConnCloser> m_conn;
};

}  // namespace

std::unique_ptr<Catalog> open_postgres_catalog(const std::string& conninfo) {
  return std::make_unique<PostgresCatalog>(conninfo);
}

}  // namespace beamflow::catalog
