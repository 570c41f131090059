// PostgreSQL ingest's indexes: entries has no index of published_ms
// (schema version 9; no statement reads one, searches read live_entries),
// and a version-8 catalog loses it when opened. Ingests on several
// connections: the facet codes' lock is taken only by a batch that gives
// codes, and a batch whose tentative codes another writer gave first codes
// its live rows again.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "catalog/support/backends.hpp"
#include "catalog/support/fixtures.hpp"
#include "jobs/catalog/catalog.hpp"
#include "jobs/catalog/facet_codes.hpp"
#include "jobs/catalog/query.hpp"
#include "support/scratch_dir.hpp"

namespace beamflow::catalog::test {
namespace {

using beamflow::test::ScratchDir;

// Fails (the DO block raises) when the catalog has an index of that name.
std::string no_index(const std::string& name) {
  return "DO $$ BEGIN IF to_regclass('" + name + "') IS NOT NULL THEN RAISE EXCEPTION '" + name +
         " exists'; END IF; END $$";
}

std::int64_t found(Catalog& catalog, const std::string& words) {
  return catalog.search(parse_query({{"q", words}}), Identity{"bob", {}, false}).total;
}

TEST(PostgresIngest, EntriesHaveNoIndexOfPublishedTimesAndAVersion8CatalogDropsIt) {
  if (auto why = PostgresBackend::unavailable()) GTEST_SKIP() << "postgresql unavailable: " << *why;
  ScratchDir dir;
  {
    auto catalog = PostgresBackend::open_fresh(dir.path());
    std::vector<Entry> es{entry("ark:/99999/p1", metadata()), entry("ark:/99999/p2", metadata("Copper foam"))};
    catalog->ingest(es);
  }
  PostgresBackend::exec(dir.path(), no_index("entries_published"));
  // Version 8's index, as that version made it.
  PostgresBackend::exec(dir.path(),
                        "CREATE INDEX entries_published ON entries(published_ms); "
                        "UPDATE catalog_meta SET value = 8 WHERE name = 'schema_version'");
  auto catalog = open_catalog(PostgresBackend::location(dir.path()));
  PostgresBackend::exec(dir.path(), no_index("entries_published"));
  PostgresBackend::exec(dir.path(),
                        "DO $$ BEGIN IF (SELECT value FROM catalog_meta WHERE name = 'schema_version') <> 11 "
                        "THEN RAISE EXCEPTION 'schema version'; END IF; END $$");
  EXPECT_EQ(found(*catalog, "steel"), 2);  // both descriptions
  EXPECT_EQ(found(*catalog, "copper"), 1);
  std::vector<Entry> more{entry("ark:/99999/p3", metadata())};
  catalog->ingest(more);
  EXPECT_EQ(found(*catalog, "steel"), 3);
}

// A connection of its own to the catalog in `dir` (the test's other writer).
class RawPostgres {
 public:
  explicit RawPostgres(const std::filesystem::path& dir)
      : m_conn(PQconnectdb(PostgresBackend::location(dir).substr(std::string("postgresql:").size()).c_str()),
               PQfinish) {}
  std::string value(const std::string& sql) {
    std::unique_ptr<PGresult, void (*)(PGresult*)> r(PQexec(m_conn.get(), sql.c_str()), PQclear);
    const auto st = PQresultStatus(r.get());
    EXPECT_TRUE(st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) << PQresultErrorMessage(r.get());
    return st == PGRES_TUPLES_OK && PQntuples(r.get()) > 0 ? PQgetvalue(r.get(), 0, 0) : "";
  }
  // Waits (up to 10 s) until `n` sessions wait for an advisory lock.
  bool waiters(int n) {
    for (int i = 0; i < 1000; ++i) {
      if (value("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted") == std::to_string(n))
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

 private:
  std::unique_ptr<PGconn, void (*)(PGconn*)> m_conn;
};

// Holds the facet codes' lock (postgres_catalog.cpp's kCodesLock), as a
// writer giving codes does, until commit().
void hold_codes_lock(RawPostgres& raw) {
  raw.value("BEGIN");
  raw.value("SELECT pg_advisory_xact_lock(4242002)");
}

std::string element_counts(Catalog& catalog) {
  const auto r = catalog.search(parse_query({{"q", "scan"}, {"facets", {{{"field_name", "domain.elements"}}}}}),
                                Identity{"bob", {}, false});
  std::string s;
  for (const auto& b : r.facets.at(0).buckets) s += b.value.get<std::string>() + ":" + std::to_string(b.count) + " ";
  return s;
}

Entry scan(const std::string& id, std::vector<std::string> elements) {
  Json c = metadata("Scan " + id);
  c["domain"] = {{"elements", std::move(elements)}};
  return entry("ark:/99999/" + id, c);
}

// An ingest whose facet values all have codes (or belong to fields past
// their FacetCodes::kPerField codes) does not wait for another writer
// holding the codes' lock: two connections ingest at once.
TEST(PostgresIngest, ABatchThatGivesNoCodesDoesNotWaitForTheCodesLock) {
  if (auto why = PostgresBackend::unavailable()) GTEST_SKIP() << "postgresql unavailable: " << *why;
  ScratchDir dir;
  auto catalog = PostgresBackend::open_fresh(dir.path());
  // Identifiers and titles past their codes; elements Fe and Ni coded.
  std::vector<Entry> fill;
  for (std::size_t i = 0; i <= detail::FacetCodes::kPerField; ++i)
    fill.push_back(scan("f" + std::to_string(i), {i % 2 ? "Fe" : "Ni"}));
  catalog->ingest(fill);
  RawPostgres other(dir.path());
  const std::string codes = other.value("SELECT count(*) FROM facet_codes");
  hold_codes_lock(other);
  auto done = std::async(std::launch::async, [&] {
    std::vector<Entry> more{scan("m1", {"Fe"}), scan("m2", {"Ni", "Fe"})};
    catalog->ingest(more);
  });
  EXPECT_EQ(done.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  other.value("COMMIT");
  done.get();
  EXPECT_EQ(other.value("SELECT count(*) FROM facet_codes"), codes);
  EXPECT_EQ(element_counts(*catalog), "Fe:2050 Ni:2050 ");
}

// Two batches that give codes at once: both code their values tentatively
// from the same codes; the one that takes the lock second finds the other's
// codes stored and codes its live rows again. Every count is right, read
// by either writer and by a new catalog. The second writer's catalog is
// opened at `b_location`.
void two_batches_giving_codes_at_once(const std::filesystem::path& dir, const std::string& b_location) {
  auto a = PostgresBackend::open_fresh(dir);
  auto b = open_catalog(b_location);
  std::vector<Entry> first{scan("c1", {"Fe"})};
  a->ingest(first);
  RawPostgres other(dir);
  hold_codes_lock(other);
  auto one = std::async(std::launch::async, [&] {
    std::vector<Entry> es{scan("c2", {"Ni", "Fe"}), scan("c3", {"Cu"})};
    a->ingest(es);
  });
  ASSERT_TRUE(other.waiters(1));
  auto two = std::async(std::launch::async, [&] {
    std::vector<Entry> es{scan("c4", {"Zn", "Ni"}), scan("c5", {"Cu", "Au"})};
    b->ingest(es);
  });
  ASSERT_TRUE(other.waiters(2));
  other.value("COMMIT");
  one.get();
  two.get();
  const std::string expected = "Cu:2 Fe:2 Ni:2 Au:1 Zn:1 ";
  EXPECT_EQ(element_counts(*a), expected);
  EXPECT_EQ(element_counts(*b), expected);
  EXPECT_EQ(element_counts(*open_catalog(PostgresBackend::location(dir))), expected);
  // Each code stands for one value.
  EXPECT_EQ(other.value("SELECT count(*) - count(DISTINCT (field, value)) FROM facet_codes"), "0");
}

TEST(PostgresIngest, TwoBatchesGivingCodesAtOnceBothCountRight) {
  if (auto why = PostgresBackend::unavailable()) GTEST_SKIP() << "postgresql unavailable: " << *why;
  ScratchDir dir;
  two_batches_giving_codes_at_once(dir.path(), PostgresBackend::location(dir.path()));
}

// The same where the second writer's session defaults to serializable
// transactions (a server's or role's default_transaction_isolation): the
// catalog's writes say READ COMMITTED themselves, so the look at the stored
// codes after the lock sees the first writer's commit, not a snapshot taken
// before it.
TEST(PostgresIngest, WritesReadCommittedWhateverTheSessionsDefaultIsolation) {
  if (auto why = PostgresBackend::unavailable()) GTEST_SKIP() << "postgresql unavailable: " << *why;
  ScratchDir dir;
  std::string serializable = PostgresBackend::location(dir.path());
  ASSERT_EQ(serializable.back(), '\'');
  serializable.insert(serializable.size() - 1, " -cdefault_transaction_isolation=serializable");
  two_batches_giving_codes_at_once(dir.path(), serializable);
}

// A batch with a later version of an identifier takes the codes' lock
// before it locks that identifier's older rows (update_latest), even when
// it gives no codes: a writer holding the lock and those rows (set_status)
// then never waits for it in turn (a deadlock).
TEST(PostgresIngest, ABatchWithALaterVersionWaitsForTheCodesLockBeforeTheOlderRows) {
  if (auto why = PostgresBackend::unavailable()) GTEST_SKIP() << "postgresql unavailable: " << *why;
  ScratchDir dir;
  auto catalog = PostgresBackend::open_fresh(dir.path());
  // Every value of x's second version coded: version 2 through y's.
  Entry x1 = scan("x", {"Fe"}), y1 = scan("y", {"Fe"}), y2 = scan("y", {"Fe"});
  y2.version = 2;
  std::vector<Entry> first{x1, y1};
  catalog->ingest(first);
  std::vector<Entry> second{y2};
  catalog->ingest(second);
  RawPostgres other(dir.path());
  const std::string codes = other.value("SELECT count(*) FROM facet_codes");
  hold_codes_lock(other);
  other.value("UPDATE entries SET reason = reason WHERE identifier = 'ark:/99999/x'");
  auto done = std::async(std::launch::async, [&] {
    Entry x2 = scan("x", {"Fe"});
    x2.version = 2;
    std::vector<Entry> more{x2};
    catalog->ingest(more);
  });
  EXPECT_TRUE(other.waiters(1));  // for the lock, not for x's row
  other.value("COMMIT");
  done.get();
  EXPECT_EQ(other.value("SELECT count(*) FROM facet_codes"), codes);
  EXPECT_EQ(other.value("SELECT string_agg(version || ':' || latest, ' ' ORDER BY version) FROM entries "
                        "WHERE identifier = 'ark:/99999/x'"),
            "1:0 2:1");
  EXPECT_EQ(element_counts(*catalog), "Fe:2 ");
}

}  // namespace
}  // namespace beamflow::catalog::test
