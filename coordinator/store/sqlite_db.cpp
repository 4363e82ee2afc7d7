#include "coordinator/store/sqlite_db.h"

namespace zlh::coordinator::store::sqlite {

proto::Error toError(sqlite3* db, int rc, std::string_view context) {
  using proto::ErrorCode;
  std::string msg = std::string(context) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT: return proto::makeError(ErrorCode::kConflict, msg);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT: return proto::makeError(ErrorCode::kUnavailable, msg);
    default: return proto::makeError(ErrorCode::kInternal, msg);
  }
}

bool isUniqueViolation(int rc) {
  return rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY;
}

Stmt::Stmt(sqlite3* db, std::string_view sql) : db_(db) {
  prepare_rc_ = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
}

Stmt::~Stmt() { sqlite3_finalize(stmt_); }

Stmt& Stmt::bind(int index, std::string_view text) {
  if (stmt_) {
    int rc = sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()),
                               SQLITE_TRANSIENT);
    if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  }
  return *this;
}

Stmt& Stmt::bind(int index, int64_t value) {
  if (stmt_) {
    int rc = sqlite3_bind_int64(stmt_, index, value);
    if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  }
  return *this;
}

Stmt& Stmt::bindNull(int index) {
  if (stmt_) {
    int rc = sqlite3_bind_null(stmt_, index);
    if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  }
  return *this;
}

Stmt& Stmt::bindOpt(int index, const std::optional<std::string>& text) {
  return text ? bind(index, std::string_view(*text)) : bindNull(index);
}

Stmt& Stmt::bindOpt(int index, const std::optional<int64_t>& value) {
  return value ? bind(index, *value) : bindNull(index);
}

int Stmt::step() {
  if (prepare_rc_ != SQLITE_OK) return prepare_rc_;
  if (bind_rc_ != SQLITE_OK) return bind_rc_;
  return sqlite3_step(stmt_);
}

std::string Stmt::text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
}

int64_t Stmt::int64(int col) const { return sqlite3_column_int64(stmt_, col); }

bool Stmt::isNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

std::optional<std::string> Stmt::optText(int col) const {
  if (isNull(col)) return std::nullopt;
  return text(col);
}

std::optional<int64_t> Stmt::optInt64(int col) const {
  if (isNull(col)) return std::nullopt;
  return int64(col);
}

WriteTransaction::WriteTransaction(sqlite3* db) : db_(db) {
  begin_rc_ = exec(db_, "BEGIN IMMEDIATE");
  done_ = begin_rc_ != SQLITE_OK;
}

WriteTransaction::~WriteTransaction() {
  if (!done_) exec(db_, "ROLLBACK");
}

int WriteTransaction::commit() {
  int rc = exec(db_, "COMMIT");
  if (rc == SQLITE_OK) done_ = true;
  return rc;
}

int exec(sqlite3* db, const char* sql) { return sqlite3_exec(db, sql, nullptr, nullptr, nullptr); }

}  // namespace zlh::coordinator::store::sqlite
