// The embedded catalog: one SQLite file (WAL, synchronous=FULL so a commit
// is on disk when it returns), free text in a contentless FTS5 table keyed
// by the entry's row id.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "core/json.hpp"
#include "core/json_parse.hpp"
#include "core/time.hpp"
#include "jobs/catalog/backend_support.hpp"
#include "jobs/catalog/catalog.hpp"
#include "jobs/catalog/errors.hpp"
#include "jobs/catalog/fts_rank.hpp"

namespace beamflow::catalog {
namespace {

using Row = std::vector<std::optional<std::string>>;

// Version 2 (PRAGMA user_version): the `public` flag, exact filters as
// tokens in the fts column `tags`, and one fields b-tree keyed (field,
// entry, sval). Version 3: each entry's packed facet values in `facets`,
// also in the entries_live covering index (facet_values.hpp). Version 4:
// field rows only for numbers and dates (exact filters and facet bucket
// names come from the hashes and the content; wildcard filters on text
// read the content through beamflow_field_like). An older catalog is
// converted when opened: a version-1 catalog (no user_version) has its
// search index rebuilt from the entries' content, versions 1 and 2 fill in
// `facets` from it, and versions 2 and 3 drop their text field rows.
// Version 5: the live entries' search columns in a table of their own,
// live_entries (below), instead of the entries_live index; a version-4
// catalog has it filled from entries when opened. Version 6: each live
// entry's FTS5 document-size record in live_entries.fts_size, so that the
// rank (beamflow_bm25, fts_rank.hpp) reads it with the row a search reads
// anyway instead of probing fts_docsize per hit; a version-5 catalog has
// live_entries made again and filled from entries when opened, as a
// version-4 one. Version 7: the facets columns coded (facet_codes.hpp),
// the codes in facet_codes; an older catalog has its facets recomputed
// from the entries' content (reindex) and live_entries made again, as a
// version-2 one's facets and a version-5 one's live_entries. Version 8:
// the identifier and title, read only by a page sorted on them, moved out
// of live_entries into live_names (below); an older catalog has both made
// again from entries when opened, the path a version-5 one takes. Version
// 9: live_entries.facets holds the entry's coded facet values only
// (coded_values_only, facet_codes.hpp), without the 13-byte uncoded ones of
// fields with more than FacetCodes::kPerField values (titles, abstracts:
// ~54 of a ~70-byte column at 1,000,000 bench entries), which a terms
// facet on such a field reads from the entries row (PlanOptions::
// uncoded_terms); an older catalog has live_entries made again, as a
// version-5 one. Only ingest and that rebuild leave the uncoded values out:
// the triggers (an approval, a withdrawal) copy the whole column, with
// SQLite's own functions only, so that any client may update entries.
// Either is right: uncoded values belong to full fields only
// (FacetCodes::full), whose terms facets read the entries row anyway, and
// a search counts no value of a field it has no facet on. Version 10: the
// full-text index merges 8 segments of a level instead of 4 (kFtsSettings),
// set in the fts table's configuration; an older catalog gets it when
// opened (no row rewritten: it applies to the merges from then on).
constexpr int kSchemaVersion = 10;

// FTS5 writes a transaction's new terms as a segment of the index every
// 1 MiB of them (~1,400 bench entries) and later writes merge segments
// (automerge: N of a level make one of the next), so each term's postings
// are written again at every level: at 50,000 bench entries the merges
// were ~20% of the ingest's instructions. With 8 instead of FTS5's 4 there
// are fewer levels to write through (log 8 instead of log 4 of the
// segments) and at most 7 segments a level for a search to read instead
// of 3. Measured at 1,000,000 bench entries, A B B A at load 1.2-3.1 (8
// first): CPU an entry 32.4 / 36.6 / 36.5 / 31.1 us, entries/s 30,000 /
// 26,429 / 26,527 / 31,127, search p99 21.8 / 22.2 / 21.3 / 19.1 ms;
// results byte-identical (docs/catalog.md). A bigger write buffer instead (FTS5's hashsize at 16
// MiB) cut instructions by 16% but not CPU time (docs/catalog.md).
const char* kFtsSettings = "INSERT INTO fts(fts, rank) VALUES('automerge', 8)";

// An entry's FTS5 document-size record (fts_docsize's `sz`, what
// live_entries.fts_size keeps), as an SQL expression of the entry's id.
std::string fts_size_of(std::string_view id) {
  return "(SELECT sz FROM fts_docsize WHERE id = " + std::string(id) + ")";
}

const std::string kSchema = R"sql(
CREATE TABLE IF NOT EXISTS collections(
  name TEXT PRIMARY KEY, schema TEXT NOT NULL, requires_approval INTEGER NOT NULL, curators TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sequences(name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS entries(
  id INTEGER PRIMARY KEY, identifier TEXT NOT NULL, version INTEGER NOT NULL, collection TEXT NOT NULL,
  status TEXT NOT NULL, latest INTEGER NOT NULL DEFAULT 0, owner TEXT NOT NULL, visible_to TEXT NOT NULL,
  content TEXT NOT NULL, location TEXT NOT NULL, manifest TEXT NOT NULL, bytes INTEGER NOT NULL,
  files INTEGER NOT NULL, published_ms INTEGER NOT NULL, request_id TEXT, reason TEXT NOT NULL DEFAULT '',
  decided_by TEXT NOT NULL DEFAULT '', title TEXT NOT NULL, year INTEGER NOT NULL,
  public INTEGER NOT NULL DEFAULT 0, facets BLOB, UNIQUE(identifier, version));
CREATE UNIQUE INDEX IF NOT EXISTS entries_request ON entries(request_id) WHERE request_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS entries_published ON entries(published_ms);
-- What a search reads of each live entry (published, latest version),
-- keyed by its id: a rowid table's interior pages hold ~400 keys where the
-- covering index of version 4 (whole ~340-byte rows as keys) held ~12, so
-- a hit's probe descends 2-3 levels instead of ~6. It holds a row exactly
-- while its entry is live, its columns the entry's, written in the
-- transaction that changes the entry: by ingest for a new entry (one
-- single-row INSERT of the values it has), by triggers for every update or
-- delete, whatever statement makes it. Not by an insert trigger nor an
-- INSERT ... SELECT of the new row: either cost ingest 27-38 us more CPU
-- an entry (+40-60%, bench/RESULTS.md), likely the statement journal SQLite
-- keeps for a statement that may write several rows.
-- A search reads one row a hit at a random page, and the first searches
-- of a process pay for every page new to it: the identifier and title
-- (~67 of a ~157-byte row at 1,000,000 entries), read only by a page
-- sorted on them, are in live_names, joined for those sorts alone (schema
-- version 8), which holds a row exactly while live_entries does.
CREATE TABLE IF NOT EXISTS live_entries(id INTEGER PRIMARY KEY, public INTEGER NOT NULL, year INTEGER NOT NULL,
  published_ms INTEGER NOT NULL, facets BLOB, fts_size BLOB);
CREATE TABLE IF NOT EXISTS live_names(id INTEGER PRIMARY KEY, identifier TEXT NOT NULL, title TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS live_entries_update AFTER UPDATE ON entries BEGIN
  DELETE FROM live_entries WHERE id = old.id;
  DELETE FROM live_names WHERE id = old.id;
  INSERT INTO live_entries SELECT new.id, new.public, new.year, new.published_ms, new.facets,
    )sql" + fts_size_of("new.id") + R"sql( WHERE new.status = 'published' AND new.latest = 1;
  INSERT INTO live_names SELECT new.id, new.identifier, new.title WHERE new.status = 'published' AND new.latest = 1;
END;
CREATE TRIGGER IF NOT EXISTS live_entries_delete AFTER DELETE ON entries BEGIN
  DELETE FROM live_entries WHERE id = old.id;
  DELETE FROM live_names WHERE id = old.id;
END;
CREATE TABLE IF NOT EXISTS visibility(principal TEXT NOT NULL, entry INTEGER NOT NULL,
  PRIMARY KEY(entry, principal)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS fields(field TEXT NOT NULL, entry INTEGER NOT NULL, sval TEXT NOT NULL, nval REAL,
  PRIMARY KEY(field, entry, sval)) WITHOUT ROWID;
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(body, tags, content='', tokenize='unicode61');
-- What the facets columns' codes stand for (facet_codes.hpp): code n is
-- (field hash, value hash), the 64-bit hash as a signed integer.
CREATE TABLE IF NOT EXISTS facet_codes(code INTEGER PRIMARY KEY, field INTEGER NOT NULL, value INTEGER NOT NULL);
)sql";

// From version 1: the public flag filled in, the principal rows of public
// entries dropped, the index tables recreated (then filled by reindex).
const char* kFromVersion1 = R"sql(
UPDATE entries SET public = EXISTS (SELECT 1 FROM json_each(entries.visible_to) WHERE value = 'public');
DELETE FROM visibility WHERE entry IN (SELECT id FROM entries WHERE public = 1);
DROP TABLE IF EXISTS fields;
DROP TABLE IF EXISTS fts;
)sql";

// From version 8 (or older): live_entries, live_names and the triggers
// that write their rows go, to be made again in the current layout by
// kSchema and filled by kLiveEntries, one path for every older version.
const char* kDropLiveEntries = R"sql(
DROP TRIGGER IF EXISTS live_entries_update;
DROP TRIGGER IF EXISTS live_entries_delete;
DROP TABLE IF EXISTS live_entries;
DROP TABLE IF EXISTS live_names;
)sql";

// live_entries and live_names filled from the entries that are live.
const std::string kLiveEntries = R"sql(
DELETE FROM live_entries;
DELETE FROM live_names;
INSERT INTO live_entries SELECT id, public, year, published_ms, beamflow_coded_facets(id, facets),
  )sql" + fts_size_of("entries.id") + R"sql( FROM entries WHERE status = 'published' AND latest = 1 ORDER BY id;
INSERT INTO live_names SELECT id, identifier, title FROM entries WHERE status = 'published' AND latest = 1 ORDER BY id;
)sql";

// SQL beamflow_field_like(content, field, glob): whether a text value of
// `field` in the entry's content JSON (text_values: what its field rows
// held before version 4) matches the GLOB pattern (glob_pattern).
void field_like(sqlite3_context* ctx, int, sqlite3_value** argv) {
  const auto* content = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
  const auto* field = reinterpret_cast<const char*>(sqlite3_value_text(argv[1]));
  const auto* glob = reinterpret_cast<const char*>(sqlite3_value_text(argv[2]));
  if (!content || !field || !glob) return sqlite3_result_int(ctx, 0);
  try {
    const Json doc = parse_json_as(std::string_view(content, static_cast<std::size_t>(sqlite3_value_bytes(argv[0]))),
                                   "content", "catalog.db", kCatalogError,
                                   "a catalog row cannot be read: its content column");
    for (const auto& text : text_values(doc, field))
      if (sqlite3_strglob(glob, text.c_str()) == 0) return sqlite3_result_int(ctx, 1);
    sqlite3_result_int(ctx, 0);
  } catch (const std::exception& e) {
    sqlite3_result_error(ctx, e.what(), -1);
  }
}

// Where beamflow_terms counts a search's terms facet values (SearchPlan::
// terms_sink), bound to the statement as a pointer of type kTermsSink; an
// error thrown while counting is kept to be rethrown as it was.
constexpr const char* kTermsSink = "beamflow_terms";
struct TermsSink {
  detail::SearchRows* rows;
  const detail::FacetCodes* codes;
  std::exception_ptr error;
};

// SQL beamflow_terms(sink, id, facets): counts the entry's coded facet
// values into the sink; 1.
void count_terms(sqlite3_context* ctx, int, sqlite3_value** argv) {
  auto* sink = static_cast<TermsSink*>(sqlite3_value_pointer(argv[0], kTermsSink));
  if (!sink) return sqlite3_result_error(ctx, "beamflow_terms: no search to count for", -1);
  try {
    const auto* p = static_cast<const char*>(sqlite3_value_blob(argv[2]));
    const std::string_view packed =
        p ? std::string_view(p, static_cast<std::size_t>(sqlite3_value_bytes(argv[2]))) : std::string_view();
    sink->rows->add_coded_facet_values(sqlite3_value_int64(argv[1]), packed, *sink->codes);
    sqlite3_result_int(ctx, 1);
  } catch (const std::exception& e) {
    sink->error = std::current_exception();
    sqlite3_result_error(ctx, e.what(), -1);
  }
}

// SQL beamflow_coded_facets(id, facets): the coded facets column's coded
// values alone (coded_values_only), what live_entries.facets holds; NULL
// for NULL.
void coded_facets(sqlite3_context* ctx, int, sqlite3_value** argv) {
  const auto* p = static_cast<const char*>(sqlite3_value_blob(argv[1]));
  if (sqlite3_value_type(argv[1]) == SQLITE_NULL) return sqlite3_result_null(ctx);
  try {
    const std::string out = detail::coded_values_only(
        std::string_view(p ? p : "", static_cast<std::size_t>(sqlite3_value_bytes(argv[1]))),
        sqlite3_value_int64(argv[0]));
    sqlite3_result_blob64(ctx, out.data(), out.size(), SQLITE_TRANSIENT);
  } catch (const std::exception& e) {
    sqlite3_result_error(ctx, e.what(), -1);
  }
}

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};

// Copies a catalog's committed WAL frames into its database file on a
// thread and connection of its own, so that a commit returns once its
// frames are durable in the WAL (synchronous=FULL) instead of also reading
// them back, writing them to the database file and fsyncing it, as SQLite's
// automatic checkpoint does inside the commit that crosses its threshold
// (every 10,000-entry batch at ~4,500 pages). Durability is the WAL's
// either way; a checkpoint that loses a race (a writer or a reader holding
// frames) is simply retried on the next request. PASSIVE: it never waits
// for, nor blocks, the writer or a search.
class Checkpointer {
 public:
  explicit Checkpointer(std::unique_ptr<sqlite3, DbCloser> db) : m_db(std::move(db)), m_thread([this] { loop(); }) {}
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;
  ~Checkpointer() {
    {
      std::lock_guard lock(m_mutex);
      m_stop = true;
    }
    m_wake.notify_one();
    m_thread.join();
  }
  void request() {
    {
      std::lock_guard lock(m_mutex);
      m_requested = true;
    }
    m_wake.notify_one();
  }

 private:
  void loop() {
    std::unique_lock lock(m_mutex);
    for (;;) {
      m_wake.wait(lock, [this] { return m_requested || m_stop; });
      if (m_stop) return;
      m_requested = false;
      lock.unlock();
      sqlite3_wal_checkpoint_v2(m_db.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      lock.lock();
    }
  }

  std::unique_ptr<sqlite3, DbCloser> m_db;
  std::mutex m_mutex;
  std::condition_variable m_wake;
  bool m_requested = false;
  bool m_stop = false;
  std::thread m_thread;  // last: starts once the rest is made
};

class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql) : m_db(db) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &s, nullptr) != SQLITE_OK)
      fail("catalog.db", std::string("SQLite cannot prepare a statement: ") + sqlite3_errmsg(db));
    m_stmt.reset(s);
  }
  Statement& bind(int i, const SqlValue& v) {
    int rc = SQLITE_OK;
    if (auto p = std::get_if<std::int64_t>(&v)) rc = sqlite3_bind_int64(m_stmt.get(), i, *p);
    else if (auto d = std::get_if<double>(&v)) rc = sqlite3_bind_double(m_stmt.get(), i, *d);
    else {
      const auto& s = std::get<std::string>(v);
      rc = sqlite3_bind_text(m_stmt.get(), i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    }
    if (rc != SQLITE_OK) fail("catalog.db", std::string("SQLite bind failed: ") + sqlite3_errmsg(m_db));
    return *this;
  }
  // Text that stays where it is until the statement is run and reset (its
  // bindings cleared): bound in place, where bind copies it first.
  Statement& bind_static(int i, std::string_view s) {
    if (sqlite3_bind_text(m_stmt.get(), i, s.data(), static_cast<int>(s.size()), SQLITE_STATIC) != SQLITE_OK)
      fail("catalog.db", std::string("SQLite bind failed: ") + sqlite3_errmsg(m_db));
    return *this;
  }
  Statement& bind_blob(int i, std::string_view bytes) {
    if (sqlite3_bind_blob(m_stmt.get(), i, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT) != SQLITE_OK)
      fail("catalog.db", std::string("SQLite bind failed: ") + sqlite3_errmsg(m_db));
    return *this;
  }
  // A column's bytes as they are (a BLOB; NULL as empty), valid until the
  // next step: read in place, not copied (a search reads one a hit).
  std::string_view blob(int col) const {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(m_stmt.get(), col));
    return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(m_stmt.get(), col)))
             : std::string_view();
  }
  Statement& bind_pointer(int i, void* p, const char* type) {
    if (sqlite3_bind_pointer(m_stmt.get(), i, p, type, nullptr) != SQLITE_OK)
      fail("catalog.db", std::string("SQLite bind failed: ") + sqlite3_errmsg(m_db));
    return *this;
  }
  Statement& bind_null(int i) {
    sqlite3_bind_null(m_stmt.get(), i);
    return *this;
  }
  Statement& bind_all(const std::vector<SqlValue>& params) {
    for (std::size_t i = 0; i < params.size(); ++i) bind(static_cast<int>(i + 1), params[i]);
    return *this;
  }
  // True while a row is available.
  bool step() {
    const int rc = sqlite3_step(m_stmt.get());
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    const int ext = sqlite3_extended_errcode(m_db);
    const std::string msg = sqlite3_errmsg(m_db);
    if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
      fail("dataset.conflict", "already recorded (a concurrent publish?): " + msg, {}, true);
    fail("catalog.db", "SQLite: " + msg, {}, rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
  }
  void run() {
    while (step()) {
    }
    reset();
  }
  void reset() {
    sqlite3_reset(m_stmt.get());
    sqlite3_clear_bindings(m_stmt.get());
  }
  std::optional<std::string> text(int col) const {
    if (sqlite3_column_type(m_stmt.get(), col) == SQLITE_NULL) return std::nullopt;
    if (sqlite3_column_type(m_stmt.get(), col) == SQLITE_FLOAT) {
      char buf[40];
      std::snprintf(buf, sizeof buf, "%.17g", sqlite3_column_double(m_stmt.get(), col));
      return std::string(buf);
    }
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(m_stmt.get(), col));
    return std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(m_stmt.get(), col)));
  }
  std::int64_t integer(int col) const { return sqlite3_column_int64(m_stmt.get(), col); }
  double real(int col) const { return sqlite3_column_double(m_stmt.get(), col); }
  int columns() const { return sqlite3_column_count(m_stmt.get()); }
  Row row() const {
    Row r;
    for (int i = 0; i < columns(); ++i) r.push_back(text(i));
    return r;
  }

 private:
  sqlite3* m_db;
  std::unique_ptr<sqlite3_stmt, StmtFinalizer> m_stmt;
};

// A JSON document's text in one buffer kept from one document to the next:
// ingest writes two an entry (content, ~700 bytes, and visible_to), and a
// fresh string grew through several reallocations for each.
class JsonText {
 public:
  std::string_view of(const Json& doc) {
    m_text.clear();
    m_out.dump(doc, false, false, 0);  // as Json::dump() writes it
    return m_text;
  }

 private:
  std::string m_text;
  nlohmann::detail::serializer<Json> m_out{nlohmann::detail::output_adapter<char, std::string>(m_text), ' '};
};

// SQLite's allocation statistics (sqlite3_memory_used and the like, which
// beamflow never reads) take a global mutex at every allocation and free
// SQLite makes: an ingest makes several for each entry. Off, once, before
// SQLite initialises; where something initialised it already (the bench's
// --pages VFS), the call is refused and nothing changes.
void without_memory_statistics() {
  static const int once = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)once;
}

// A new catalog file is created 0600 whatever the umask (SQLite would make
// it 0644 & ~umask); its -wal and -shm files take the database's mode. An
// existing file keeps its mode.
void create_owner_only(const std::string& path) {
  if (path.empty() || path == ":memory:" || path.rfind("file:", 0) == 0) return;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return;
    fail("catalog.open", std::string("cannot create the SQLite catalog: ") + std::strerror(errno), {{"file", path}});
  }
  const bool ok = ::fchmod(fd, 0600) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok)
    fail("catalog.open", std::string("cannot make the SQLite catalog owner-only: ") + std::strerror(err),
         {{"file", path}});
}

class SqliteCatalog final : public Catalog {
 public:
  explicit SqliteCatalog(const std::string& path) : m_path(path) {
    without_memory_statistics();
    create_owner_only(path);
    m_db = connect();
    try {
      exec("PRAGMA journal_mode=WAL");
      exec("PRAGMA synchronous=FULL");
      exec("PRAGMA foreign_keys=ON");
      Tx tx(*this);
      upgrade();
      tx.commit();
      // Searches read through a second connection that maps the file: a
      // search probes live_entries (and in version 4 the 325 MB entries_live
      // index at 1,000,000 entries) and the fts
      // tables at each hit's page, and beyond the page cache each probe was a
      // pread copying 4 KiB from the kernel's cache; mapped, the pages are
      // read in place. Ingest keeps its unmapped connection and page cache,
      // as measured before. Debian caps the map at 2 GiB; beyond it SQLite
      // reads as before. An in-memory catalog has one connection.
      if (path.empty() || path == ":memory:" || path.rfind("file:", 0) == 0) return;
      sqlite3_wal_hook(db(), &SqliteCatalog::wal_committed, this);  // replaces the automatic checkpoint
      m_reader = connect();
      exec_on(m_reader.get(), "PRAGMA mmap_size=2147418112");
    } catch (Error& e) {
      e.with("file", path);
      throw;
    }
  }

  std::string backend() const override { return "sqlite"; }

  void put_collection(const Collection& c) override {
    Tx tx(*this);
    Statement s(db(), "INSERT INTO collections(name, schema, requires_approval, curators) VALUES (?, ?, ?, ?) "
                      "ON CONFLICT(name) DO UPDATE SET schema = excluded.schema, "
                      "requires_approval = excluded.requires_approval, curators = excluded.curators");
    s.bind(1, c.name).bind(2, c.schema.dump()).bind(3, std::int64_t{c.requires_approval}).bind(4, Json(c.curators).dump());
    s.run();
    tx.commit();
  }

  std::optional<Collection> find_collection(const std::string& name) override {
    Statement s(db(), "SELECT name, schema, requires_approval, curators FROM collections WHERE name = ?");
    s.bind(1, name);
    if (!s.step()) return std::nullopt;
    return collection_from(s);
  }

  std::vector<Collection> collections() override {
    Statement s(db(), "SELECT name, schema, requires_approval, curators FROM collections ORDER BY name");
    std::vector<Collection> out;
    while (s.step()) out.push_back(collection_from(s));
    return out;
  }

  std::int64_t next_sequence(const std::string& name) override {
    Tx tx(*this);
    Statement s(db(), "INSERT INTO sequences(name, value) VALUES (?, 1) "
                      "ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value");
    s.bind(1, name);
    s.step();
    const auto v = s.integer(0);
    s.reset();
    tx.commit();
    return v;
  }

  int next_version(const std::string& identifier) override {
    Statement s(db(), "SELECT coalesce(max(version), 0) + 1 FROM entries WHERE identifier = ?");
    s.bind(1, identifier);
    s.step();
    return static_cast<int>(s.integer(0));
  }

  void ingest(std::vector<Entry>& entries) override {
    Tx tx(*this);
    Statement insert(db(),
                     "INSERT INTO entries(identifier, version, collection, status, owner, visible_to, content, "
                     "location, manifest, bytes, files, published_ms, request_id, reason, decided_by, title, year, "
                     "public, facets, latest) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
                     "?16, ?17, ?18, ?19, ?4 = 'published' AND NOT EXISTS (SELECT 1 FROM entries WHERE identifier = ?1 "
                     "AND status = 'published' AND version > ?2))");
    // A new entry's live_entries row, when its INSERT made it live.
    Statement is_live(db(), "SELECT latest FROM entries WHERE id = ?");
    // Its fts_size is the document-size record FTS5 wrote as the entry was
    // indexed (index.add, before).
    Statement live(db(), "INSERT INTO live_entries VALUES (?, ?, ?, ?, ?, ?)");
    Statement names(db(), "INSERT INTO live_names VALUES (?, ?, ?)");
    Statement fts_size(db(), "SELECT sz FROM fts_docsize WHERE id = ?");
    Statement vis(db(), "INSERT OR IGNORE INTO visibility(principal, entry) VALUES (?, ?)");
    // The new row's `latest` is set by the INSERT; only an identifier's other
    // versions may need theirs cleared (never the new row rewritten).
    Statement older(db(), "UPDATE entries SET latest = 0 WHERE identifier = ?1 AND latest = 1 AND id <> ?2 "
                        "AND (SELECT latest FROM entries WHERE id = ?2) = 1");
    IndexWriter index(db());
    NewCodes codes(*this);
    JsonText content, visible_to;
    for (auto& e : entries) {
      IndexTerms terms = index_terms(e);
      // Every text below outlives insert.run(), which clears the bindings.
      insert.bind_static(1, e.identifier).bind(2, std::int64_t{e.version}).bind_static(3, e.collection)
          .bind_static(4, to_string(e.status)).bind_static(5, e.owner)
          .bind_static(6, visible_to.of(Json(e.visible_to))).bind_static(7, content.of(e.content))
          .bind_static(8, e.location).bind_static(9, e.manifest_digest)
          .bind(10, static_cast<std::int64_t>(e.bytes)).bind(11, static_cast<std::int64_t>(e.files))
          .bind(12, e.published_ms);
      if (e.request_id.empty()) insert.bind_null(13);
      else insert.bind_static(13, e.request_id);
      const std::string facets = codes.facets(terms);
      const std::int64_t is_public = detail::is_public(e);
      insert.bind_static(14, e.reason).bind_static(15, e.decided_by).bind_static(16, terms.title)
          .bind(17, std::int64_t{terms.year}).bind(18, is_public).bind_blob(19, facets);
      insert.run();
      e.row = sqlite3_last_insert_rowid(db());
      index.add(e.row, terms);
      if (e.status == EntryStatus::Published) {
        is_live.bind(1, e.row);
        const bool latest = is_live.step() && is_live.integer(0) == 1;
        is_live.reset();
        if (latest) {
          const std::string coded = detail::coded_values_only(facets, e.row);
          live.bind(1, e.row).bind(2, is_public).bind(3, std::int64_t{terms.year}).bind(4, e.published_ms)
              .bind_blob(5, coded);
          fts_size.bind(1, e.row);
          if (fts_size.step()) live.bind_blob(6, fts_size.blob(0));
          live.run();
          fts_size.reset();
          names.bind(1, e.row).bind_static(2, e.identifier).bind_static(3, terms.title);
          names.run();
        }
      }
      for (const auto& p : detail::visibility_rows(e)) {
        vis.bind(1, p).bind(2, e.row);
        vis.run();
      }
      if (e.status == EntryStatus::Published && e.version > 1) {
        older.bind(1, e.identifier).bind(2, e.row);
        older.run();
      }
    }
    index.finish();
    codes.store();
    tx.commit();
    codes.keep();
  }

  std::vector<Entry> versions(const std::string& identifier) override {
    Statement s(db(), std::string("SELECT ") + detail::kEntryColumns +
                          " FROM entries WHERE identifier = ? ORDER BY version");
    s.bind(1, identifier);
    std::vector<Entry> out;
    while (s.step()) out.push_back(detail::entry_from_row(s.row()));
    return out;
  }

  std::optional<Entry> by_request(const std::string& request_id) override {
    Statement s(db(), std::string("SELECT ") + detail::kEntryColumns + " FROM entries WHERE request_id = ?");
    s.bind(1, request_id);
    if (!s.step()) return std::nullopt;
    return detail::entry_from_row(s.row());
  }

  void set_status(const std::string& identifier, int version, EntryStatus status, const std::string& reason,
                  const std::string& decided_by) override {
    Tx tx(*this);
    Statement s(db(), "UPDATE entries SET status = ?, reason = ?, decided_by = ? "
                      "WHERE identifier = ? AND (? = 0 OR version = ?)");
    s.bind(1, std::string(to_string(status))).bind(2, reason).bind(3, decided_by).bind(4, identifier)
        .bind(5, std::int64_t{version}).bind(6, std::int64_t{version});
    s.run();
    Statement latest(db(), kLatestSql);
    latest.bind(1, identifier);
    latest.run();
    tx.commit();
  }

  std::vector<Entry> pending() override {
    Statement s(db(), std::string("SELECT ") + detail::kEntryColumns +
                          " FROM entries WHERE status = 'pending' ORDER BY id");
    std::vector<Entry> out;
    while (s.step()) out.push_back(detail::entry_from_row(s.row()));
    return out;
  }

  SearchResult search(const Query& query, const Identity& identity) override {
    SearchResult result;
    // One read transaction: the hits loaded agree with the page.
    sqlite3* const db = reader();
    exec_on(db, "BEGIN");
    try {
      // The codes of this snapshot, read first (they begin it): a terms
      // facet on a field some of whose values have none counts the entries
      // rows' whole facets columns (schema version 9).
      PlanOptions options;
      const bool terms = std::any_of(query.facets.begin(), query.facets.end(),
                                     [](const Facet& f) { return f.kind == FacetKind::Terms; });
      if (terms) {
        read_codes(db, m_read_codes);
        for (const auto& f : query.facets)
          if (f.kind == FacetKind::Terms && m_read_codes.full(field_hash(f.field))) options.uncoded_terms = true;
      }
      const SearchPlan plan = plan_search(query, identity, Dialect::SQLite, options);
      Statement all(db, plan.search.text);
      all.bind_all(plan.search.params);
      detail::SearchRows found(query, plan);
      TermsSink sink{&found, &m_read_codes, nullptr};
      if (plan.terms_sink > 0) all.bind_pointer(plan.terms_sink, &sink, kTermsSink);
      auto step = [&] {
        try {
          return all.step();
        } catch (...) {
          if (sink.error) std::rethrow_exception(sink.error);
          throw;
        }
      };
      while (step()) {
        const std::int64_t part = all.integer(0);
        if (part == 0) {
          std::vector<std::string> keys;
          for (std::size_t i = 0; i < plan.sort.size(); ++i) keys.push_back(*all.text(static_cast<int>(4 + i)));
          found.add_page(all.integer(1), all.integer(2), std::move(keys));
        } else if (part == 1) {
          found.set_total(all.integer(3));
        } else if (found.is_facet_values(part)) {
          found.add_coded_facet_values(all.integer(2), all.blob(4), m_read_codes);
        } else {
          found.add_bucket(part, all.integer(1), *all.text(4), all.integer(3));
        }
      }
      Statement load(db, std::string("SELECT ") + detail::kEntryColumns + " FROM entries WHERE id = ?");
      auto load_entry = [&](std::int64_t id) {
        std::optional<Entry> e;
        load.bind(1, id);
        if (load.step()) e = detail::entry_from_row(load.row());
        load.reset();
        return e;
      };
      auto rows = found.finish(result, [&](const std::vector<detail::FieldKey>& keys) {
        std::vector<Entry> holders;
        for (const auto id : detail::entries_of(keys))
          if (auto e = load_entry(id)) holders.push_back(std::move(*e));
        return detail::field_texts_of(keys, holders);
      });
      const bool more = rows.size() > static_cast<std::size_t>(query.limit);
      if (more) rows.pop_back();
      const bool verify = detail::has_exact_filters(query.filters);
      for (const auto& [seq, id, keys] : rows) {
        auto e = load_entry(id);
        if (!e || (verify && !detail::holds_exact_filters(query.filters, *e))) continue;
        SearchHit hit{std::move(*e), 0};
        for (std::size_t i = 0; i < plan.sort.size(); ++i)
          if (plan.sort[i].field == "_score") hit.score = std::stod(keys[i]);
        result.hits.push_back(std::move(hit));
      }
      if (!rows.empty()) result.marker = detail::next_marker(plan, rows.back().id, rows.back().keys, more);
    } catch (...) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
    exec_on(db, "COMMIT");
    return result;
  }

 private:
  // The latest published version of ?1 gets latest = 1, every other 0.
  static constexpr const char* kLatestSql =
      "UPDATE entries SET latest = coalesce(version = (SELECT max(version) FROM entries "
      "WHERE identifier = ?1 AND status = 'published'), 0) WHERE identifier = ?1";

  // An entry's search index: its words and exact-filter tokens in fts,
  // its field rows (written by finish(), in key order).
  class IndexWriter {
   public:
    explicit IndexWriter(sqlite3* db)
        : m_fts(db, "INSERT INTO fts(rowid, body, tags) VALUES (?, ?, ?)"),
          m_field(db, "INSERT OR IGNORE INTO fields(field, entry, sval, nval) VALUES (?, ?, ?, ?)") {}
    void add(std::int64_t row, const IndexTerms& terms) {
      const std::string tags = detail::add_field_rows(row, terms, "", m_rows);
      m_fts.bind(1, row).bind_static(2, terms.text).bind_static(3, tags);
      m_fts.run();
    }
    void finish() {
      detail::sort_field_rows(m_rows);
      for (const auto& [row, f] : m_rows) {
        m_field.bind(1, f.field).bind(2, row).bind(3, f.text);
        if (f.has_number) m_field.bind(4, f.number);
        else m_field.bind_null(4);
        m_field.run();
      }
      m_rows.clear();
    }

   private:
    Statement m_fts, m_field;
    std::vector<detail::FieldRow> m_rows;
  };

  // Creates the schema, or brings an older catalog's to kSchemaVersion.
  // Runs inside the opening transaction: all or nothing.
  void upgrade() {
    Statement v(db(), "PRAGMA user_version");
    v.step();
    const auto version = v.integer(0);
    v.reset();
    Statement has(db(), "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'entries'");
    has.step();
    const bool existing = has.integer(0) > 0;
    has.reset();
    if (version > kSchemaVersion)
      fail("catalog.open", "the catalog was made by a newer beamflow (schema version " + std::to_string(version) +
                               ", this one knows " + std::to_string(kSchemaVersion) + ")");
    if (existing && version < 2) {
      Statement cols(db(), "SELECT count(*) FROM pragma_table_info('entries') WHERE name = 'public'");
      cols.step();
      if (cols.integer(0) == 0) exec("ALTER TABLE entries ADD COLUMN public INTEGER NOT NULL DEFAULT 0");
      cols.reset();
      exec(kFromVersion1);
    }
    if (existing && version < 3) {
      Statement cols(db(), "SELECT count(*) FROM pragma_table_info('entries') WHERE name = 'facets'");
      cols.step();
      if (cols.integer(0) == 0) exec("ALTER TABLE entries ADD COLUMN facets BLOB");
      cols.reset();
    }
    // Version 5 reads live_entries; the index that served before goes.
    if (existing && version < 5) exec("DROP INDEX IF EXISTS entries_live");
    if (existing && version < 9) exec(kDropLiveEntries);
    exec(kSchema.c_str());
    if (version < 10) exec(kFtsSettings);  // a new catalog too (version 0)
    if (existing && version < 7) reindex(version < 2);
    // Version 4 keeps field rows for numbers and dates only (those have nval).
    if (existing && version < 4) exec("DELETE FROM fields WHERE nval IS NULL");
    // The triggers keep live_entries from here on; what was live before is
    // copied once (reindex above may have put rows in through them).
    if (existing && version < 9) exec(kLiveEntries.c_str());
    exec(("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str());
  }

  // Recomputes every entry's coded facet values from its content, in
  // batches; with `search_index` (a version-1 catalog) also refills fts
  // and fields. Runs inside the opening transaction.
  void reindex(bool search_index) {
    NewCodes codes(*this);
    Statement all(db(), std::string("SELECT ") + detail::kEntryColumns + " FROM entries WHERE id > ? ORDER BY id LIMIT 10000");
    Statement set(db(), "UPDATE entries SET facets = ? WHERE id = ?");
    std::int64_t last = 0;
    for (bool more = true; more;) {
      IndexWriter index(db());
      all.bind(1, last);
      more = false;
      std::vector<std::pair<std::int64_t, std::string>> facets;
      while (all.step()) {
        const Entry e = detail::entry_from_row(all.row());
        const IndexTerms terms = index_terms(e);
        if (search_index) index.add(e.row, terms);
        facets.emplace_back(e.row, codes.facets(terms));
        last = e.row;
        more = true;
      }
      all.reset();
      index.finish();
      for (const auto& [row, packed] : facets) {
        set.bind_blob(1, packed).bind(2, row);
        set.run();
      }
    }
    codes.store();
    codes.keep();
  }

  // Brings `codes` up to the catalog's facet_codes (codes are only ever
  // appended: those after the last one read).
  void read_codes(sqlite3* db, detail::FacetCodes& codes) {
    Statement s(db, "SELECT code, field, value FROM facet_codes WHERE code > ? ORDER BY code");
    s.bind(1, static_cast<std::int64_t>(codes.size()));
    while (s.step()) {
      if (s.integer(0) != static_cast<std::int64_t>(codes.size()) + 1)
        fail("catalog.db", "a catalog row cannot be read: facet_codes skips code " + std::to_string(codes.size() + 1),
             {{"file", m_path}});
      codes.append({static_cast<std::uint32_t>(s.integer(1)), static_cast<std::uint64_t>(s.integer(2))});
    }
  }

  // The codes one write transaction gives (facet_codes.hpp): the writer's
  // codes first brought up to the catalog's (another process may have
  // given some), then new ones, stored by store() with the entries that use
  // them and kept in memory only once the transaction commits (keep()).
  class NewCodes {
   public:
    explicit NewCodes(SqliteCatalog& c) : m_c(c) {
      m_c.read_codes(m_c.db(), m_c.m_write_codes);
      m_from = m_c.m_write_codes.size();
    }
    NewCodes(const NewCodes&) = delete;
    NewCodes& operator=(const NewCodes&) = delete;
    ~NewCodes() {
      if (!m_kept) m_c.m_write_codes.truncate(m_from);
    }
    // The entry's coded facets column, giving its values codes.
    std::string facets(const IndexTerms& terms) {
      return detail::code_facet_values(detail::facet_values_of(terms), m_c.m_write_codes);
    }
    void store() {
      const auto& all = m_c.m_write_codes.values();
      if (all.size() == m_from) return;
      Statement insert(m_c.db(), "INSERT INTO facet_codes(code, field, value) VALUES (?, ?, ?)");
      for (std::size_t i = m_from; i < all.size(); ++i) {
        insert.bind(1, static_cast<std::int64_t>(i + 1)).bind(2, static_cast<std::int64_t>(all[i].field))
            .bind(3, static_cast<std::int64_t>(all[i].value));
        insert.run();
      }
    }
    void keep() { m_kept = true; }

   private:
    SqliteCatalog& m_c;
    std::size_t m_from = 0;
    bool m_kept = false;
  };

  // BEGIN IMMEDIATE ... COMMIT; rolls back unless committed (RAII).
  class Tx {
   public:
    explicit Tx(SqliteCatalog& c) : m_c(c) { m_c.exec("BEGIN IMMEDIATE"); }
    void commit() {
      m_c.exec("COMMIT");
      m_open = false;
    }
    ~Tx() {
      if (m_open) m_c.exec_noexcept("ROLLBACK");
    }

   private:
    SqliteCatalog& m_c;
    bool m_open = true;
  };

  // The WAL frames after which a commit asks for a checkpoint: SQLite's
  // automatic checkpoint threshold.
  static constexpr int kCheckpointFrames = 1000;

  // sqlite3_wal_hook: called by the writer after each commit with the WAL's
  // frame count. The checkpointer starts with the first request (a catalog
  // only searched never needs it); if it cannot, the commit checkpoints
  // itself as SQLite would.
  static int wal_committed(void* self, sqlite3* db, const char*, int frames) noexcept {
    if (frames < kCheckpointFrames) return SQLITE_OK;
    auto& c = *static_cast<SqliteCatalog*>(self);
    try {
      if (!c.m_checkpointer) c.m_checkpointer = std::make_unique<Checkpointer>(c.connect());
      c.m_checkpointer->request();
    } catch (...) {
      sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    }
    return SQLITE_OK;
  }

  sqlite3* db() const { return m_db.get(); }
  sqlite3* reader() const { return m_reader ? m_reader.get() : m_db.get(); }

  // A connection to the catalog with what every statement here needs.
  std::unique_ptr<sqlite3, DbCloser> connect() {
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(m_path.c_str(), &raw,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
    std::unique_ptr<sqlite3, DbCloser> db(raw);
    if (rc != SQLITE_OK)
      fail("catalog.open", std::string("cannot open the SQLite catalog: ") + (raw ? sqlite3_errmsg(raw) : "out of memory"),
           {{"file", m_path}});
    sqlite3_busy_timeout(raw, 30000);
    sqlite3_create_function_v2(raw, "beamflow_field_like", 3, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr, field_like,
                               nullptr, nullptr, nullptr);
    sqlite3_create_function_v2(raw, "beamflow_coded_facets", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr,
                               coded_facets, nullptr, nullptr, nullptr);
    // Not deterministic: SQLite must call it once for every row it is in.
    sqlite3_create_function_v2(raw, kTermsSink, 3, SQLITE_UTF8 | SQLITE_DIRECTONLY, nullptr, count_terms, nullptr,
                               nullptr, nullptr);
    if (!detail::register_fts_rank(raw))
      fail("catalog.open", "this SQLite has no FTS5 (the catalog's full-text index)", {{"file", m_path}});
    // The index b-trees outgrow SQLite's default 2 MB page cache after a few
    // thousand entries; every insert then re-reads pages through the kernel.
    exec_on(raw, "PRAGMA cache_size=-131072");  // 128 MiB, allocated as used
    exec_on(raw, "PRAGMA temp_store=MEMORY");
    // LIKE filters are case-sensitive, as in PostgreSQL.
    exec_on(raw, "PRAGMA case_sensitive_like=ON");
    return db;
  }

  void exec(const char* sql) { exec_on(db(), sql); }
  void exec_on(sqlite3* db, const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      const std::string msg = err ? err : "unknown error";
      sqlite3_free(err);
      const int rc = sqlite3_errcode(db);
      fail("catalog.db", "SQLite: " + msg, {{"file", m_path}}, rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
    }
  }
  void exec_noexcept(const char* sql) noexcept { sqlite3_exec(db(), sql, nullptr, nullptr, nullptr); }

  static Collection collection_from(const Statement& s) {
    return detail::collection_from_row(s.text(0).value_or(""), s.text(1).value_or(""), s.integer(2) != 0,
                                       s.text(3).value_or(""));
  }

  std::string m_path;
  // Before m_db: the writer's WAL hook may use it as long as m_db is open.
  std::unique_ptr<Checkpointer> m_checkpointer;
  std::unique_ptr<sqlite3, DbCloser> m_db;
  std::unique_ptr<sqlite3, DbCloser> m_reader;  // searches' (mapped); null: m_db
  detail::FacetCodes m_write_codes;  // as the writer m_db last read or gave them
  detail::FacetCodes m_read_codes;   // as the last search read them
};

}  // namespace

std::unique_ptr<Catalog> open_sqlite_catalog(const std::string& path) {
  return std::make_unique<SqliteCatalog>(path);
}

}  // namespace beamflow::catalog
