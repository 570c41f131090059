#include "catalog/support/backends.hpp"

#include "support/process.hpp"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

namespace beamflow::catalog::test {
namespace {

std::string script() { return std::string(BEAMFLOW_SOURCE_DIR) + "/tests/catalog/support/pg_server.sh"; }

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  std::string t = s.str();
  while (!t.empty() && t.back() == '\n') t.pop_back();
  return t;
}

// The shared server: CTest's (BEAMFLOW_TEST_PG_DIR), else one of our own.
struct Server {
  std::string conninfo;
  std::string skip;
  std::filesystem::path own_dir;  // set when this process started it
  ~Server() {
    if (!own_dir.empty()) beamflow::test::run_process({script(), "stop", own_dir.string()});
  }
};

Server& server() {
  static Server s = [] {
    Server s;
    std::filesystem::path dir;
    if (const char* d = std::getenv("BEAMFLOW_TEST_PG_DIR"); d && std::filesystem::exists(std::string(d) + "/conninfo")) {
      dir = d;
    } else if (d && std::filesystem::exists(std::string(d) + "/skip")) {
      s.skip = slurp(std::string(d) + "/skip");
      return s;
    } else {
      dir = std::filesystem::temp_directory_path() / ("beamflow-pg-" + std::to_string(::getpid()));
      s.own_dir = dir;
      // Tied to this process: a test binary killed before its static
      // destructors run leaves no server behind.
      beamflow::test::run_process({script(), "start", dir.string(), std::to_string(::getpid())});
      if (std::filesystem::exists(dir / "skip")) {
        s.skip = slurp(dir / "skip");
        return s;
      }
    }
    s.conninfo = slurp(dir / "conninfo");
    return s;
  }();
  return s;
}

// One schema per test directory, created on first use.
std::string schema_for(const std::filesystem::path& dir) {
  static std::mutex m;
  static std::map<std::string, std::string> schemas;
  std::lock_guard lock(m);
  auto it = schemas.find(dir.string());
  if (it != schemas.end()) return it->second;
  static int n = 0;
  const std::string name = "t" + std::to_string(::getpid()) + "_" + std::to_string(++n);
  PGconn* c = PQconnectdb(server().conninfo.c_str());
  PQclear(PQexec(c, ("CREATE SCHEMA " + name).c_str()));
  PQfinish(c);
  schemas.emplace(dir.string(), name);
  return name;
}

}  // namespace

std::unique_ptr<Catalog> SqliteBackend::open_fresh(const std::filesystem::path& dir) {
  return open_catalog(location(dir));
}
std::string SqliteBackend::location(const std::filesystem::path& dir) { return "sqlite:" + (dir / "catalog.sqlite").string(); }

void SqliteBackend::exec(const std::filesystem::path& dir, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "catalog.sqlite").c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
}

void PostgresBackend::exec(const std::filesystem::path& dir, const std::string& sql) {
  PGconn* c = PQconnectdb(server().conninfo.c_str());
  PQclear(PQexec(c, ("SET search_path = " + schema_for(dir)).c_str()));
  PGresult* r = PQexec(c, sql.c_str());
  EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQresultErrorMessage(r);
  PQclear(r);
  PQfinish(c);
}

std::optional<std::string> PostgresBackend::unavailable() {
  if (!server().skip.empty()) return server().skip;
  return std::nullopt;
}
std::string PostgresBackend::location(const std::filesystem::path& dir) {
  return "postgresql:" + server().conninfo + " options='-csearch_path=" + schema_for(dir) + "'";
}
std::unique_ptr<Catalog> PostgresBackend::open_fresh(const std::filesystem::path& dir) {
  return open_catalog(location(dir));
}

}  // namespace beamflow::catalog::test
