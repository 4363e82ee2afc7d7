#pragma once
// Thin RAII over the SQLite C API, private to the SQLite engine.
#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proto/v1/result.h"

namespace zlh::coordinator::store::sqlite {

/// Maps an SQLite failure to a proto error: constraint -> Conflict, busy/locked/io/cantopen ->
/// Unavailable, the rest -> Internal. `context` says what was being done.
proto::Error toError(sqlite3* db, int rc, std::string_view context);

/// True for a UNIQUE / PRIMARY KEY violation.
bool isUniqueViolation(int rc);

/// An open connection that keeps its prepared statements for reuse, by SQL text: compiling a
/// statement costs more than running most of ours (measured: a third of the coordinator's logic
/// thread under a stream of power requests went to sqlite3_prepare_v2). Converts to sqlite3*
/// for the C API. One thread at a time, as the connection. Closes the connection when destroyed.
class Connection {
 public:
  explicit Connection(sqlite3* db) : db_(db) {}
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  operator sqlite3*() const { return db_; }  // NOLINT(google-explicit-constructor): a handle

  /// Where statements of `sql` are kept (reset, no bindings), or null when this connection
  /// keeps no more kinds of statement (kMaxKinds). Stable as long as the connection.
  std::vector<sqlite3_stmt*>* slot(std::string_view sql) const;

  static constexpr size_t kMaxKinds = 256;  // distinct SQL texts kept
  static constexpr size_t kMaxPerKind = 4;  // the same text in use at once (nested loops)

 private:
  sqlite3* db_;
  mutable std::unordered_map<std::string, std::vector<sqlite3_stmt*>> kept_;
};

class Stmt {
 public:
  Stmt(sqlite3* db, std::string_view sql);
  /// Takes a kept statement of the connection, or prepares one; gives it back when destroyed.
  Stmt(const Connection& db, std::string_view sql);
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
  /// Ready to run again with new bindings (a statement prepared once for many rows).
  Stmt& reset();

  std::string text(int col) const;
  int64_t int64(int col) const;
  bool isNull(int col) const;
  std::optional<std::string> optText(int col) const;
  std::optional<int64_t> optInt64(int col) const;

 private:
  sqlite3* db_;
  std::vector<sqlite3_stmt*>* slot_ = nullptr;  // the connection's, to give the statement back
  sqlite3_stmt* stmt_ = nullptr;
  int prepare_rc_ = SQLITE_OK;
  int bind_rc_ = SQLITE_OK;
};

/// How long a write waits for the writers ahead of it in this process, and then (busy_timeout)
/// for a writer in another process.
inline constexpr std::chrono::milliseconds kLockTimeout{5000};

/// The writers of one database file in this process, served first come, first served.
/// SQLite's own wait for its write lock (busy_timeout) polls with sleeps growing to 100 ms, and
/// a connection that writes again right after its commit takes the lock back before the
/// sleepers wake: under a steady stream of writes from several connections, one of them can
/// wait past any timeout and get SQLITE_BUSY (measured: 16 connections writing for 8 s, the
/// slowest call waited 8 s for a lock each write holds ~4 ms). Here waiters queue in order and
/// are woken, so a write waits for the writes ahead of it, not for luck. busy_timeout is left to
/// arbitrate with other processes (zlhctl, an init), which are rare.
class WriterQueue {
 public:
  /// The queue of the database file at `path` (absolute), shared by every connection to it in
  /// this process; a queue of its own for an empty path (a temporary or in-memory database).
  static std::shared_ptr<WriterQueue> forFile(const std::string& path);

  /// Waits for the caller's turn; false (its place given up) when `timeout` passed first.
  bool enter(std::chrono::milliseconds timeout);
  void leave();
  /// Callers waiting for their turn (for tests).
  size_t waiting() const;

 private:
  mutable std::mutex mu_;
  std::deque<std::condition_variable*> waiting_;  // each waiter's own, oldest first
  bool held_ = false;
};

/// Takes the caller's turn in `writers`, then BEGIN IMMEDIATE (the write lock up front, waiting
/// up to busy_timeout for another process); ROLLBACK on destruction unless commit() succeeded,
/// and the turn passes on either way. beginStatus() is SQLITE_BUSY when the turn did not come
/// within kLockTimeout.
class WriteTransaction {
 public:
  WriteTransaction(sqlite3* db, WriterQueue& writers);
  ~WriteTransaction();
  WriteTransaction(const WriteTransaction&) = delete;
  WriteTransaction& operator=(const WriteTransaction&) = delete;

  int beginStatus() const { return begin_rc_; }
  int commit();

 private:
  void leave();

  sqlite3* db_;
  WriterQueue& writers_;
  int begin_rc_;
  bool done_ = false;
  bool in_queue_ = false;
};

/// Runs SQL without results (several statements allowed).
int exec(sqlite3* db, const char* sql);

}  // namespace zlh::coordinator::store::sqlite
