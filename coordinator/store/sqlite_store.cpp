#include "coordinator/store/sqlite_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "coordinator/common/tokens.h"
#include "coordinator/store/sqlite_db.h"
#include "coordinator/store/sqlite_migrations.h"

namespace zlh::coordinator::store {
namespace {
using proto::ErrorCode;
using proto::makeError;
using sqlite::Stmt;
using sqlite::WriteTransaction;

// The database holds token hashes: create it 0600 before SQLite opens it, so the -wal and -shm
// files (which SQLite creates with the main file's mode) are 0600 too.
Status createPrivateFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return {};
    return makeError(ErrorCode::kUnavailable, "create " + path + ": " + std::strerror(errno));
  }
  ::fchmod(fd, 0600);  // exactly 0600 whatever the umask
  ::close(fd);
  return {};
}

User readUser(const Stmt& s) {
  User u;
  u.id = s.text(0);
  u.name = s.text(1);
  u.role = parseRole(s.text(2)).value_or(Role::kUser);
  u.created_at = common::fromUnixMs(s.int64(3));
  return u;
}

TokenRecord readToken(const Stmt& s) {
  TokenRecord t;
  t.id = s.text(0);
  t.kind = parseTokenKind(s.text(1)).value_or(TokenKind::kUser);
  t.owner_id = s.text(2);
  t.sha256 = s.text(3);
  t.created_at = common::fromUnixMs(s.int64(4));
  if (auto r = s.optInt64(5)) t.revoked_at = common::fromUnixMs(*r);
  return t;
}
}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path,
                                                       const OpenOptions& options) {
  if (options.create && !options.read_only) {
    if (auto st = createPrivateFile(path); !st) return st.error();
  }
  int flags = options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    auto err = sqlite::toError(db, rc, "open database " + path);
    sqlite3_close(db);
    return err;
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(db));
  const char* file = sqlite3_db_filename(db, "main");
  store->writers_ = sqlite::WriterQueue::forFile(file ? file : "");
  if (auto st = store->configure(options.read_only); !st)
    return st.error().withContext("open database " + path);
  return store;
}

SqliteStore::~SqliteStore() = default;

Status SqliteStore::configure(bool read_only) {
  sqlite3_busy_timeout(db_, static_cast<int>(sqlite::kLockTimeout.count()));
  sqlite3_extended_result_codes(db_, 1);
  // FULL: a committed admin action (a revoked token, a deleted node) survives power loss.
  // Control-plane writes are few; last_seen updates are throttled by the gateway.
  const char* pragmas = read_only ? "PRAGMA foreign_keys=ON; PRAGMA query_only=ON;"
                                  : "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                                    "PRAGMA foreign_keys=ON;";
  int rc = sqlite::exec(db_, pragmas);
  if (rc != SQLITE_OK) return sqlite::toError(db_, rc, "configure");
  // Reading the schema proves the file is a database (open is lazy).
  Stmt s(db_, "SELECT count(*) FROM sqlite_master");
  rc = s.step();
  if (rc != SQLITE_ROW) return sqlite::toError(db_, rc, "read schema");
  return {};
}

Status SqliteStore::migrate() {
  int rc = sqlite::exec(db_,
                        "CREATE TABLE IF NOT EXISTS schema_migrations ("
                        "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
  if (rc != SQLITE_OK) return sqlite::toError(db_, rc, "create schema_migrations");
  for (const auto& m : sqlite::migrations()) {
    WriteTransaction tx(db_, *writers_);
    if (tx.beginStatus() != SQLITE_OK) return sqlite::toError(db_, tx.beginStatus(), "migrate");
    // Checked inside the write lock: another process may have migrated meanwhile.
    Stmt check(db_, "SELECT 1 FROM schema_migrations WHERE version = ?");
    check.bind(1, static_cast<int64_t>(m.version));
    rc = check.step();
    if (rc == SQLITE_ROW) continue;
    if (rc != SQLITE_DONE) return sqlite::toError(db_, rc, "migrate");
    rc = sqlite::exec(db_, m.sql);
    if (rc != SQLITE_OK)
      return sqlite::toError(db_, rc, "migration " + std::to_string(m.version) + " (" + m.name + ")");
    Stmt ins(db_, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)");
    ins.bind(1, static_cast<int64_t>(m.version)).bind(2, common::toUnixMs(common::now()));
    if ((rc = ins.step()) != SQLITE_DONE) return sqlite::toError(db_, rc, "record migration");
    if ((rc = tx.commit()) != SQLITE_OK) return sqlite::toError(db_, rc, "commit migration");
  }
  return {};
}

Result<int> SqliteStore::schemaVersion() {
  Stmt exists(db_, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'");
  int rc = exists.step();
  if (rc == SQLITE_DONE) return 0;
  if (rc != SQLITE_ROW) return sqlite::toError(db_, rc, "schema version");
  Stmt s(db_, "SELECT coalesce(max(version), 0) FROM schema_migrations");
  rc = s.step();
  if (rc != SQLITE_ROW) return sqlite::toError(db_, rc, "schema version");
  return static_cast<int>(s.int64(0));
}

int SqliteStore::latestSchemaVersion() const { return sqlite::migrations().back().version; }

Status SqliteStore::ping() {
  Stmt s(db_, "SELECT count(*) FROM schema_migrations");
  int rc = s.step();
  if (rc != SQLITE_ROW) return sqlite::toError(db_, rc, "ping");
  return {};
}

Result<User> SqliteStore::insertUser(const NewUser& user) {
  User u{common::newId("usr_"), user.name, user.role, common::fromUnixMs(common::toUnixMs(common::now()))};
  Stmt s(db_, "INSERT INTO users (id, name, role, created_at) VALUES (?, ?, ?, ?)");
  s.bind(1, u.id).bind(2, u.name).bind(3, toString(u.role)).bind(4, common::toUnixMs(u.created_at));
  int rc = s.step();
  if (sqlite::isUniqueViolation(rc))
    return makeError(ErrorCode::kConflict, "a user named \"" + user.name + "\" already exists");
  if (rc != SQLITE_DONE) return sqlite::toError(db_, rc, "create user");
  return u;
}

Result<User> SqliteStore::createUser(const NewUser& user) {
  WriteTransaction tx(db_, *writers_);
  if (tx.beginStatus() != SQLITE_OK) return sqlite::toError(db_, tx.beginStatus(), "create user");
  auto u = insertUser(user);
  if (!u) return u.error();
  if (int rc = tx.commit(); rc != SQLITE_OK) return sqlite::toError(db_, rc, "create user");
  return u;
}

Result<User> SqliteStore::getUser(const std::string& id) {
  Stmt s(db_, "SELECT id, name, role, created_at FROM users WHERE id = ?");
  s.bind(1, id);
  int rc = s.step();
  if (rc == SQLITE_DONE) return makeError(ErrorCode::kNotFound, "user " + id + " not found");
  if (rc != SQLITE_ROW) return sqlite::toError(db_, rc, "get user");
  return readUser(s);
}

Result<std::pair<User, TokenRecord>> SqliteStore::createUserWithToken(const NewUser& user,
                                                                      const std::string& sha256) {
  WriteTransaction tx(db_, *writers_);
  if (tx.beginStatus() != SQLITE_OK) return sqlite::toError(db_, tx.beginStatus(), "create user");
  auto u = insertUser(user);
  if (!u) return u.error();
  auto t = insertToken(TokenKind::kUser, u->id, sha256);
  if (!t) return t.error();
  if (int rc = tx.commit(); rc != SQLITE_OK) return sqlite::toError(db_, rc, "create user");
  return std::pair{std::move(*u), std::move(*t)};
}

Result<TokenRecord> SqliteStore::insertToken(TokenKind kind, const std::string& owner_id,
                                             const std::string& sha256) {
  TokenRecord t{common::newId("tok_"), kind, owner_id, sha256,
                common::fromUnixMs(common::toUnixMs(common::now())), std::nullopt};
  Stmt s(db_, "INSERT INTO tokens (id, kind, owner_id, sha256, created_at) VALUES (?, ?, ?, ?, ?)");
  s.bind(1, t.id).bind(2, toString(kind)).bind(3, owner_id).bind(4, sha256);
  s.bind(5, common::toUnixMs(t.created_at));
  int rc = s.step();
  if (sqlite::isUniqueViolation(rc)) return makeError(ErrorCode::kConflict, "token already exists");
  if (rc != SQLITE_DONE) return sqlite::toError(db_, rc, "create token");
  return t;
}

Result<bool> SqliteStore::ownerExists(TokenKind kind, const std::string& owner_id) {
  Stmt s(db_, kind == TokenKind::kUser ? "SELECT 1 FROM users WHERE id = ?"
                                       : "SELECT 1 FROM nodes WHERE id = ?");
  s.bind(1, owner_id);
  int rc = s.step();
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqlite::toError(db_, rc, "find token owner");
}

Result<TokenRecord> SqliteStore::createToken(TokenKind kind, const std::string& owner_id,
                                             const std::string& sha256) {
  WriteTransaction tx(db_, *writers_);
  if (tx.beginStatus() != SQLITE_OK) return sqlite::toError(db_, tx.beginStatus(), "create token");
  auto exists = ownerExists(kind, owner_id);
  if (!exists) return exists.error();
  if (!*exists)
    return makeError(ErrorCode::kNotFound,
                     std::string(kind == TokenKind::kUser ? "user " : "node ") + owner_id + " not found");
  auto t = insertToken(kind, owner_id, sha256);
  if (!t) return t.error();
  if (int rc = tx.commit(); rc != SQLITE_OK) return sqlite::toError(db_, rc, "create token");
  return t;
}

Result<TokenRecord> SqliteStore::selectToken(const std::string& sha256, bool active_only) {
  Stmt s(db_, active_only
                  ? "SELECT id, kind, owner_id, sha256, created_at, revoked_at FROM tokens "
                    "WHERE sha256 = ? AND revoked_at IS NULL"
                  : "SELECT id, kind, owner_id, sha256, created_at, revoked_at FROM tokens "
                    "WHERE sha256 = ?");
  s.bind(1, sha256);
  int rc = s.step();
  if (rc == SQLITE_DONE) return makeError(ErrorCode::kNotFound, "token not found");
  if (rc != SQLITE_ROW) return sqlite::toError(db_, rc, "find token");
  TokenRecord t = readToken(s);
  // The index found it; the constant-time compare keeps the check itself free of timing leaks.
  if (!common::constantTimeEquals(t.sha256, sha256))
    return makeError(ErrorCode::kNotFound, "token not found");
  return t;
}

Result<TokenRecord> SqliteStore::findActiveToken(const std::string& sha256) {
  return selectToken(sha256, true);
}

Result<TokenRecord> SqliteStore::findToken(const std::string& sha256) {
  return selectToken(sha256, false);
}

}  // namespace zlh::coordinator::store
