// PostgreSQL ingest's indexes: entries has no index of published_ms
// (schema version 9; no statement reads one, searches read live_entries),
// and a version-8 catalog loses it when opened.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "catalog/support/backends.hpp"
#include "catalog/support/fixtures.hpp"
#include "jobs/catalog/catalog.hpp"
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

}  // namespace
}  // namespace beamflow::catalog::test
