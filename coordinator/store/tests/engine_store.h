#pragma once
// Tests only: a migrated store of either engine, so one suite runs on SQLite and on PostgreSQL
// (ARCHITECTURE.md section 5: one conformance suite for both).
//   SQLite: a fresh file in a temp dir.
//   PostgreSQL: a fresh schema (random name) in the database ZLH_TEST_PG_URL names, reached
//   through the URL's search_path, dropped with this object; cases stay independent and can
//   run in parallel. Without ZLH_TEST_PG_URL the PostgreSQL cases skip, or fail when
//   ZLH_REQUIRE_PG=1 (scripts/test sets both; by hand: scripts/pg-cluster run ctest ...).
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "coordinator/store/store.h"

namespace zlh::coordinator::store::testing {

enum class Engine { kSqlite, kPostgres };

/// Parameter names for INSTANTIATE_TEST_SUITE_P: "sqlite", "postgres".
std::string engineName(const ::testing::TestParamInfo<Engine>& info);
/// How GoogleTest prints the parameter (and so how CTest names the case).
void PrintTo(Engine engine, std::ostream* os);

class EngineStore {
 public:
  EngineStore(Engine engine, const std::string& prefix);
  ~EngineStore();
  EngineStore(const EngineStore&) = delete;
  EngineStore& operator=(const EngineStore&) = delete;

  /// Why this engine cannot run here (PostgreSQL without a server); none when it can.
  std::optional<std::string> skip_reason;
  /// True when a missing server must fail the case instead of skipping it.
  static bool required();

  /// The URL of another empty, uninitialised database of the same engine (SQLite: a new file
  /// path in `dir`; PostgreSQL: a new schema, dropped with this object).
  std::string emptyDatabaseUrl();
  /// Rows in a table, read beside the store (its own connection).
  int64_t count(const std::string& table);
  /// Test setup only: runs constant SQL beside the store.
  void execRaw(const std::string& sql);
  /// PostgreSQL only: ends the server side of every connection the store's URL opened (what a
  /// database restart or a network cut does to them). Returns how many.
  int killConnections();

  Engine engine;
  std::string dir;  // scratch temp dir (both engines), removed with this object
  std::string url;  // the store's database
  std::unique_ptr<Store> store;

 private:
  std::string newSchema();
  std::string pgUrlFor(const std::string& schema) const;

  std::string pg_base_;
  std::string app_name_;
  std::vector<std::string> schemas_;
  void* admin_ = nullptr;  // PGconn*, kept out of this header (libpq stays in store/)
};

}  // namespace zlh::coordinator::store::testing

/// First thing in a fixture's SetUp: skips (or fails, under ZLH_REQUIRE_PG=1) a case whose
/// engine has no server here.
#define ZLH_REQUIRE_ENGINE(tmp)                                              \
  do {                                                                       \
    if ((tmp).skip_reason) {                                                 \
      if (::zlh::coordinator::store::testing::EngineStore::required())       \
        FAIL() << *(tmp).skip_reason << " (ZLH_REQUIRE_PG=1: not skipping)"; \
      GTEST_SKIP() << *(tmp).skip_reason;                                    \
    }                                                                        \
    ASSERT_TRUE((tmp).store) << "the store did not open";                    \
  } while (0)
