#pragma once
// The catalog backends the shared test suite runs against. SQLite needs a
// file; PostgreSQL a server, which the suite starts itself: CTest runs
// support/pg_server.sh once before the tests (fixture catalog_pg, the
// server's conninfo in $BEAMFLOW_TEST_PG_DIR) and stops it after; a test
// binary run by hand starts its own and stops it at exit. Each test gets a
// fresh schema. When no server can be started the PostgreSQL tests skip
// with the reason.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "jobs/catalog/catalog.hpp"

namespace beamflow::catalog::test {

struct SqliteBackend {
  static constexpr const char* name = "sqlite";
  // A new, empty catalog in `dir`.
  static std::unique_ptr<Catalog> open_fresh(const std::filesystem::path& dir);
  // The location string (open_catalog / --catalog) of that catalog.
  static std::string location(const std::filesystem::path& dir);
  static std::optional<std::string> unavailable() { return std::nullopt; }
  // Runs `sql` on that catalog behind beamflow's back (tests that damage rows).
  static void exec(const std::filesystem::path& dir, const std::string& sql);
};

struct PostgresBackend {
  static constexpr const char* name = "postgresql";
  static std::unique_ptr<Catalog> open_fresh(const std::filesystem::path& dir);
  static std::string location(const std::filesystem::path& dir);
  // Why PostgreSQL tests cannot run here, or nullopt.
  static std::optional<std::string> unavailable();
  static void exec(const std::filesystem::path& dir, const std::string& sql);
};

// The typed suites' parameter list, named "sqlite" and "postgresql".
using Backends = ::testing::Types<SqliteBackend, PostgresBackend>;
struct BackendNames {
  template <class T>
  static std::string GetName(int) { return T::name; }
};

}  // namespace beamflow::catalog::test
