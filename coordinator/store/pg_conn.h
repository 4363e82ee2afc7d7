#pragma once
// Thin RAII over libpq, private to the PostgreSQL engine. Every value travels as a parameter of
// a prepared statement (text format); SQL text is always a constant.
#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "proto/v1/result.h"

namespace zlh::coordinator::store::pg {

/// One query parameter in text format; nullopt is SQL NULL.
class Param {
 public:
  Param(std::nullopt_t) {}  // NOLINT: implicit by design (a parameter list reads like SQL)
  Param(std::string_view s) : v_(std::string(s)) {}      // NOLINT
  Param(const std::string& s) : v_(s) {}                 // NOLINT
  Param(const char* s) : v_(std::string(s)) {}           // NOLINT
  Param(int64_t n) : v_(std::to_string(n)) {}            // NOLINT
  Param(int n) : v_(std::to_string(n)) {}                // NOLINT
  Param(bool b) : v_(b ? "true" : "false") {}            // NOLINT
  Param(const std::optional<std::string>& s) : v_(s) {}  // NOLINT
  Param(const std::optional<int64_t>& n) {               // NOLINT
    if (n) v_ = std::to_string(*n);
  }
  const std::optional<std::string>& value() const { return v_; }

 private:
  std::optional<std::string> v_;
};

/// A successful result (rows or a command's count).
class Rows {
 public:
  explicit Rows(PGresult* r) : r_(r, &PQclear) {}
  int size() const { return PQntuples(r_.get()); }
  bool empty() const { return size() == 0; }
  /// Rows an INSERT/UPDATE/DELETE touched.
  int64_t affected() const;
  std::string text(int row, int col) const;
  int64_t int64(int row, int col) const;
  bool boolean(int row, int col) const;
  bool isNull(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  std::optional<std::string> optText(int row, int col) const;
  std::optional<int64_t> optInt64(int row, int col) const;

 private:
  std::unique_ptr<PGresult, void (*)(PGresult*)> r_;
};

/// SQLSTATE classes that matter to callers.
inline constexpr std::string_view kUniqueViolation = "23505";
inline constexpr std::string_view kForeignKeyViolation = "23503";

/// One connection. Not thread-safe: one thread at a time (the Store contract). A lost connection
/// fails the statement with Unavailable; the next statement outside a transaction reconnects
/// (PQreset) first, so a database restart costs the callers one failed request, not a restart.
/// Calls block (the store is synchronous): after a failed reconnect, calls fail at once for
/// kReconnectBackoff instead of each waiting up to connect_timeout for an unreachable server.
class Conn {
 public:
  /// Connects to a libpq URI (postgres:// or postgresql://). `redacted` names the database in
  /// messages (the URL without its password).
  static proto::Result<std::unique_ptr<Conn>> connect(const std::string& url, bool read_only);
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  /// Runs one statement with parameters ($1, $2, ...). Errors: Conflict (integrity
  /// constraints), Unavailable (connection, read-only, lock or resource trouble), Internal.
  /// Each distinct SQL text is prepared once per session (a named server-side statement) and
  /// executed from then on: parsing and planning an unnamed statement on every call cost the
  /// queue cycle 4x against plain prepared SQL (docs/benchmarks.md, Queue). A pooler between
  /// us and the server must keep sessions (PgBouncer: session mode, or 1.21+ with
  /// max_prepared_statements).
  proto::Result<Rows> exec(std::string_view context, const char* sql,
                           std::initializer_list<Param> params = {});
  /// Runs constant SQL without parameters (several statements allowed: migrations).
  proto::Result<Rows> execScript(std::string_view context, const char* sql);
  /// SQLSTATE of the last failed statement ("" when it failed without reaching the server).
  const std::string& lastSqlState() const { return last_state_; }

  bool inTransaction() const { return in_tx_; }
  void setInTransaction(bool v) { in_tx_ = v; }
  const std::string& redactedUrl() const { return redacted_; }

 private:
  Conn(PGconn* c, std::string redacted, std::string secret, bool read_only)
      : c_(c), redacted_(std::move(redacted)), secret_(std::move(secret)), read_only_(read_only) {}
  proto::Status ensureConnected(std::string_view context);
  proto::Status configure();
  proto::Error failure(std::string_view context, const PGresult* r);
  proto::Result<Rows> finish(std::string_view context, PGresult* r);
  std::string scrub(std::string text) const;

  PGconn* c_;
  std::string redacted_;
  std::string secret_;  // the password, scrubbed from any message libpq returns
  std::string last_state_;
  bool read_only_;
  bool in_tx_ = false;
  // SQL text -> the name it is prepared under in this session.
  std::unordered_map<std::string, std::string> prepared_;
  std::chrono::steady_clock::time_point retry_at_{};
};

inline constexpr auto kReconnectBackoff = std::chrono::seconds(1);

/// BEGIN (READ COMMITTED) on construction, ROLLBACK on destruction unless commit() succeeded.
/// Writes that decide on a row they read take it FOR UPDATE; unique indexes decide races.
class Transaction {
 public:
  explicit Transaction(Conn& conn);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  /// ok when BEGIN succeeded.
  const proto::Status& begin() const { return begin_; }
  proto::Status commit(std::string_view context);

 private:
  Conn& conn_;
  proto::Status begin_;
  bool done_ = false;
};

/// The URL with any password replaced by "***" (userinfo and the password= parameter).
std::string redactUrl(std::string_view url);
/// Replaces every occurrence of `secret` (when not empty) in `text` with "***".
std::string scrubSecret(std::string text, std::string_view secret);
/// Scrubs the password of `url` (as written in its userinfo or password= parameter) from `text`.
std::string scrubUrlSecrets(std::string text, std::string_view url);

}  // namespace zlh::coordinator::store::pg
