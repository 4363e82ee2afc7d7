#pragma once
// Thin RAII over the SQLite C API, private to the SQLite engine.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <sqlite3.h>

#include "proto/v1/result.h"

namespace zlh::coordinator::store::sqlite {

/// Maps an SQLite failure to a proto error: constraint -> Conflict, busy/locked/io/cantopen ->
/// Unavailable, the rest -> Internal. `context` says what was being done.
proto::Error toError(sqlite3* db, int rc, std::string_view context);

/// True for a UNIQUE / PRIMARY KEY violation.
bool isUniqueViolation(int rc);

class Stmt {
 public:
  Stmt(sqlite3* db, std::string_view sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  /// SQLITE_OK when the statement compiled.
  int prepareStatus() const { return prepare_rc_; }

  Stmt& bind(int index, std::string_view text);
  Stmt& bind(int index, int64_t value);
  Stmt& bindNull(int index);
  Stmt& bindOpt(int index, const std::optional<std::string>& text);
  Stmt& bindOpt(int index, const std::optional<int64_t>& value);

  /// SQLITE_ROW, SQLITE_DONE or an error code (the first bind error, if any).
  int step();

  std::string text(int col) const;
  int64_t int64(int col) const;
  bool isNull(int col) const;
  std::optional<std::string> optText(int col) const;
  std::optional<int64_t> optInt64(int col) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int prepare_rc_ = SQLITE_OK;
  int bind_rc_ = SQLITE_OK;
};

/// BEGIN IMMEDIATE on construction (takes the write lock up front, waiting up to busy_timeout);
/// ROLLBACK on destruction unless commit() succeeded.
class WriteTransaction {
 public:
  explicit WriteTransaction(sqlite3* db);
  ~WriteTransaction();
  WriteTransaction(const WriteTransaction&) = delete;
  WriteTransaction& operator=(const WriteTransaction&) = delete;

  int beginStatus() const { return begin_rc_; }
  int commit();

 private:
  sqlite3* db_;
  int begin_rc_;
  bool done_ = false;
};

/// Runs SQL without results (several statements allowed).
int exec(sqlite3* db, const char* sql);

}  // namespace zlh::coordinator::store::sqlite
