#pragma once
// The catalog interface: where dataset entries, collections and identifier
// sequences live, and how they are searched. Two backends implement it:
// SQLite with FTS5 (embedded, the default, in $BEAMFLOW_HOME) and
// PostgreSQL with tsvector (facility-wide, shared by many users). Both run
// the same planned SQL (sql_plan.hpp) and the same test suite.
//
// Access rules are not here: the catalog stores and searches; datasets.hpp
// decides who may see, withdraw or curate what. The one exception is
// search(), which takes the caller's identity so visibility is applied in
// the query itself (and so in the facet counts).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "jobs/catalog/entry.hpp"
#include "jobs/catalog/identity.hpp"
#include "jobs/catalog/query.hpp"

namespace beamflow::catalog {

struct Collection {
  std::string name;
  Json schema;                          // JSON Schema of "domain"; null for none
  bool requires_approval = false;       // publish leaves the entry pending for a curator
  std::vector<std::string> curators;    // principals: user:x, group:y
};

struct FacetBucket {
  Json value;  // terms: the text; numeric: {"from", "to"}; date: "2026", "2026-12", ...
  std::int64_t count = 0;
};

struct FacetResult {
  std::string name;
  std::vector<FacetBucket> buckets;
};

struct SearchHit {
  Entry entry;
  double score = 0;
};

struct SearchResult {
  std::vector<SearchHit> hits;
  std::int64_t total = 0;
  std::vector<FacetResult> facets;
  std::string marker;  // empty on the last page
};

// The Globus Search response shape: {"gmeta": [{"subject", "entries":
// [{"content", "entry_id"}]}], "total", "count", "has_next_page", "marker",
// "facet_results": [{"name", "buckets": [{"value", "count"}]}]}.
Json to_gmeta(const SearchResult& result);

class Catalog {
 public:
  virtual ~Catalog() = default;
  virtual std::string backend() const = 0;  // "sqlite" or "postgresql"

  virtual void put_collection(const Collection& collection) = 0;  // create or replace
  virtual std::optional<Collection> find_collection(const std::string& name) = 0;
  virtual std::vector<Collection> collections() = 0;

  // Increments and returns the named counter, committed before it returns:
  // a number is never handed out twice.
  virtual std::int64_t next_sequence(const std::string& name) = 0;
  // 1 + the highest version recorded for the identifier (1 when none).
  virtual int next_version(const std::string& identifier) = 0;

  // Adds entries in one transaction: all or none. Sets each entry's row.
  // A published entry becomes its identifier's latest version. Throws
  // dataset.conflict (retryable) when an (identifier, version) or a
  // request_id is already recorded.
  virtual void ingest(std::vector<Entry>& entries) = 0;
  // Every version of an identifier, oldest first (empty when unknown).
  virtual std::vector<Entry> versions(const std::string& identifier) = 0;
  virtual std::optional<Entry> by_request(const std::string& request_id) = 0;
  // Changes the status of one version (version > 0) or of every version
  // (version 0) and recomputes the latest published version, in one
  // transaction.
  virtual void set_status(const std::string& identifier, int version, EntryStatus status,
                          const std::string& reason, const std::string& decided_by) = 0;
  // Entries waiting for a curator, oldest first.
  virtual std::vector<Entry> pending() = 0;

  virtual SearchResult search(const Query& query, const Identity& identity) = 0;
};

// location: "sqlite:PATH", a plain PATH (SQLite), or a libpq URI
// ("postgresql://..." / "postgres://...") or "postgresql:KEY=VALUE ..."
// connection string. Creates the schema when missing. Throws catalog.open.
std::unique_ptr<Catalog> open_catalog(const std::string& location);
std::unique_ptr<Catalog> open_sqlite_catalog(const std::string& path);
std::unique_ptr<Catalog> open_postgres_catalog(const std::string& conninfo);

}  // namespace beamflow::catalog
