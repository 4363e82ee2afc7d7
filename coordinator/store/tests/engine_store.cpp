#include "coordinator/store/tests/engine_store.h"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>

namespace zlh::coordinator::store::testing {
namespace {

PGconn* pgConn(void* p) { return static_cast<PGconn*>(p); }

std::string randomHex(size_t n) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) out += kHex[rng() % 16];
  return out;
}

// Test helper SQL: identifiers come from randomHex, never from input.
bool run(PGconn* c, const std::string& sql, std::string* value = nullptr) {
  PGresult* r = PQexec(c, sql.c_str());
  ExecStatusType st = PQresultStatus(r);
  bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
  EXPECT_TRUE(ok) << sql << ": " << PQerrorMessage(c);
  if (ok && value && PQntuples(r) > 0) *value = PQgetvalue(r, 0, 0);
  PQclear(r);
  return ok;
}
}  // namespace

std::string engineName(const ::testing::TestParamInfo<Engine>& info) {
  return info.param == Engine::kSqlite ? "sqlite" : "postgres";
}

void PrintTo(Engine engine, std::ostream* os) {
  *os << (engine == Engine::kSqlite ? "sqlite" : "postgres");
}

bool EngineStore::required() {
  const char* v = std::getenv("ZLH_REQUIRE_PG");
  return v && std::string(v) == "1";
}

EngineStore::EngineStore(Engine e, const std::string& prefix) : engine(e) {
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  dir = mkdtemp(tmpl.data());
  if (engine == Engine::kSqlite) {
    url = "sqlite://" + dir + "/zlh.db";
  } else {
    const char* base = std::getenv("ZLH_TEST_PG_URL");
    if (!base || !*base) {
      skip_reason =
          "PostgreSQL case: ZLH_TEST_PG_URL is unset. Start a throwaway server with "
          "`scripts/pg-cluster run ctest --preset release -R coordinator_store` (or export "
          "ZLH_TEST_PG_URL=postgresql://user:password@127.0.0.1:port/db yourself)";
      return;
    }
    pg_base_ = base;
    app_name_ = "zlh_test_" + randomHex(12);
    admin_ = PQconnectdb(pg_base_.c_str());
    if (PQstatus(pgConn(admin_)) != CONNECTION_OK) {
      ADD_FAILURE() << "connect to ZLH_TEST_PG_URL: " << PQerrorMessage(pgConn(admin_));
      return;
    }
    PQsetNoticeProcessor(
        pgConn(admin_), [](void*, const char*) {}, nullptr);
    url = pgUrlFor(newSchema());
  }
  auto s = openStore(url, {.create = true});
  EXPECT_TRUE(s.ok()) << s.error().message;
  if (!s.ok()) return;
  store = std::move(*s);
  auto m = store->migrate();
  EXPECT_TRUE(m.ok()) << m.error().message;
}

EngineStore::~EngineStore() {
  store.reset();
  if (admin_) {
    if (PQstatus(pgConn(admin_)) == CONNECTION_OK) {
      // Connections the test opened itself (second stores) may still hold locks.
      run(pgConn(admin_),
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
          "application_name = '" +
              app_name_ + "'");
      for (const auto& s : schemas_) run(pgConn(admin_), "DROP SCHEMA IF EXISTS " + s + " CASCADE");
    }
    PQfinish(pgConn(admin_));
  }
  std::filesystem::remove_all(dir);
}

std::string EngineStore::newSchema() {
  std::string name = "zlh_t_" + randomHex(16);
  run(pgConn(admin_), "CREATE SCHEMA " + name);
  schemas_.push_back(name);
  return name;
}

std::string EngineStore::pgUrlFor(const std::string& schema) const {
  // libpq URI parameters: options=-c search_path=<schema> (percent-encoded), and an
  // application_name that tells this case's connections apart in pg_stat_activity.
  return pg_base_ + (pg_base_.find('?') == std::string::npos ? "?" : "&") +
         "options=-csearch_path%3D" + schema + "&application_name=" + app_name_;
}

std::string EngineStore::emptyDatabaseUrl() {
  if (engine == Engine::kSqlite) return "sqlite://" + dir + "/other-" + randomHex(6) + ".db";
  return pgUrlFor(newSchema());
}

int64_t EngineStore::count(const std::string& table) {
  if (engine == Engine::kPostgres) {
    std::string v = "-1";
    run(pgConn(admin_), "SELECT count(*) FROM " + schemas_.front() + "." + table, &v);
    return std::strtoll(v.c_str(), nullptr, 10);
  }
  sqlite3* db = nullptr;
  sqlite3_open_v2((dir + "/zlh.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, ("SELECT count(*) FROM " + table).c_str(), -1, &st, nullptr);
  int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

void EngineStore::execRaw(const std::string& sql) {
  if (engine == Engine::kPostgres) {
    run(pgConn(admin_), "SET search_path TO " + schemas_.front());
    run(pgConn(admin_), sql);
    run(pgConn(admin_), "RESET search_path");
    return;
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir + "/zlh.db").c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
}

int EngineStore::killConnections() {
  if (engine != Engine::kPostgres) return 0;
  std::string n = "0";
  run(pgConn(admin_),
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '" +
          app_name_ + "'",
      &n);
  return std::atoi(n.c_str());
}

}  // namespace zlh::coordinator::store::testing
