#include "coordinator/store/sqlite_db.h"

#include <algorithm>
#include <map>

namespace zlh::coordinator::store::sqlite {

proto::Error toError(sqlite3* db, int rc, std::string_view context) {
  using proto::ErrorCode;
  // The connection's message only when it is about this failure (a write that found no turn in
  // the WriterQueue never reached SQLite).
  bool own = db && sqlite3_extended_errcode(db) == rc;
  std::string msg = std::string(context) + ": " + (own ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
      return proto::makeError(ErrorCode::kConflict, msg);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return proto::makeError(ErrorCode::kUnavailable, msg);
    default:
      return proto::makeError(ErrorCode::kInternal, msg);
  }
}

bool isUniqueViolation(int rc) {
  return rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY;
}

Connection::~Connection() {
  for (auto& [sql, stmts] : kept_)
    for (auto* s : stmts) sqlite3_finalize(s);
  sqlite3_close(db_);
}

std::vector<sqlite3_stmt*>* Connection::slot(std::string_view sql) const {
  std::string key(sql);
  if (auto it = kept_.find(key); it != kept_.end()) return &it->second;
  if (kept_.size() >= kMaxKinds) return nullptr;
  return &kept_[std::move(key)];
}

Stmt::Stmt(sqlite3* db, std::string_view sql) : db_(db) {
  prepare_rc_ = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
}

Stmt::Stmt(const Connection& db, std::string_view sql) : db_(db), slot_(db.slot(sql)) {
  if (slot_ && !slot_->empty()) {
    stmt_ = slot_->back();
    slot_->pop_back();
    return;
  }
  prepare_rc_ = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
}

Stmt::~Stmt() {
  if (!slot_ || !stmt_ || prepare_rc_ != SQLITE_OK || slot_->size() >= Connection::kMaxPerKind) {
    sqlite3_finalize(stmt_);
    return;
  }
  reset();  // no read transaction left open by a statement stopped before its last row
  slot_->push_back(stmt_);
}

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

Stmt& Stmt::reset() {
  if (stmt_) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  bind_rc_ = SQLITE_OK;
  return *this;
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

std::shared_ptr<WriterQueue> WriterQueue::forFile(const std::string& path) {
  if (path.empty()) return std::make_shared<WriterQueue>();
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<WriterQueue>> queues;
  std::lock_guard lock(mu);
  std::erase_if(queues, [](const auto& q) { return q.second.expired(); });
  auto& slot = queues[path];
  auto queue = slot.lock();
  if (!queue) slot = queue = std::make_shared<WriterQueue>();
  return queue;
}

bool WriterQueue::enter(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (!held_ && waiting_.empty()) return held_ = true;  // nobody ahead: no wait, no wake-up
  std::condition_variable turn;  // each waiter its own: a hand-off wakes the next one only
  waiting_.push_back(&turn);
  bool mine = turn.wait_for(lock, timeout, [&] { return !held_ && waiting_.front() == &turn; });
  waiting_.erase(std::find(waiting_.begin(), waiting_.end(), &turn));
  if (!mine) {
    if (!held_ && !waiting_.empty()) waiting_.front()->notify_one();  // it may be first now
    return false;
  }
  held_ = true;
  return true;
}

void WriterQueue::leave() {
  std::lock_guard lock(mu_);
  held_ = false;
  // Under the lock: the waiter cannot return (and destroy its condition variable) first.
  if (!waiting_.empty()) waiting_.front()->notify_one();
}

size_t WriterQueue::waiting() const {
  std::lock_guard lock(mu_);
  return waiting_.size();
}

WriteTransaction::WriteTransaction(sqlite3* db, WriterQueue& writers) : db_(db), writers_(writers) {
  in_queue_ = writers_.enter(kLockTimeout);
  begin_rc_ = in_queue_ ? exec(db_, "BEGIN IMMEDIATE") : SQLITE_BUSY;
  done_ = begin_rc_ != SQLITE_OK;
  if (done_) leave();
}

WriteTransaction::~WriteTransaction() {
  if (!done_) exec(db_, "ROLLBACK");
  leave();
}

int WriteTransaction::commit() {
  int rc = exec(db_, "COMMIT");
  if (rc == SQLITE_OK) {
    done_ = true;
    leave();
  }
  return rc;
}

void WriteTransaction::leave() {
  if (!in_queue_) return;
  in_queue_ = false;
  writers_.leave();
}

int exec(sqlite3* db, const char* sql) { return sqlite3_exec(db, sql, nullptr, nullptr, nullptr); }

}  // namespace zlh::coordinator::store::sqlite
