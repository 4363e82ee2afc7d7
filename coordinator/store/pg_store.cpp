#include "coordinator/store/pg_store.h"

#include "coordinator/common/tokens.h"
#include "coordinator/store/pg_conn.h"
#include "coordinator/store/pg_migrations.h"
#include "coordinator/store/pg_rows.h"

namespace zlh::coordinator::store {
namespace {
using pg::Rows;
using pg::Transaction;
using proto::ErrorCode;
using proto::makeError;

User readUser(const Rows& r, int row) {
  User u;
  u.id = r.text(row, 0);
  u.name = r.text(row, 1);
  u.role = parseRole(r.text(row, 2)).value_or(Role::kUser);
  u.created_at = common::fromUnixMs(r.int64(row, 3));
  return u;
}

TokenRecord readToken(const Rows& r, int row) {
  TokenRecord t;
  t.id = r.text(row, 0);
  t.kind = parseTokenKind(r.text(row, 1)).value_or(TokenKind::kUser);
  t.owner_id = r.text(row, 2);
  t.sha256 = r.text(row, 3);
  t.created_at = common::fromUnixMs(r.int64(row, 4));
  if (auto v = r.optInt64(row, 5)) t.revoked_at = common::fromUnixMs(*v);
  return t;
}
}  // namespace

PgStore::PgStore(std::unique_ptr<pg::Conn> conn) : conn_(std::move(conn)) {}
PgStore::~PgStore() = default;

Result<std::unique_ptr<PgStore>> PgStore::open(const std::string& url, const OpenOptions& options) {
  auto conn = pg::Conn::connect(url, options.read_only);
  if (!conn) return conn.error();
  std::string name = (*conn)->redactedUrl();
  std::unique_ptr<PgStore> store(new PgStore(std::move(*conn)));
  if (!options.create) {
    auto has = store->hasSchema();
    if (!has) return has.error();
    if (!*has)
      return makeError(
          ErrorCode::kFailedPrecondition,
          "database " + name + " is not initialised (run `zlh-coordinator init` first)");
  }
  return store;
}

Result<bool> PgStore::initialised(const std::string& url) {
  auto store = open(url, {.create = true, .read_only = true});
  if (!store) return store.error();
  return (*store)->hasSchema();
}

Result<bool> PgStore::hasSchema() {
  // to_regclass follows the connection's search_path, as every statement of the store does.
  auto r = conn_->exec("read schema", "SELECT to_regclass('schema_migrations') IS NOT NULL");
  if (!r) return r.error();
  return r->boolean(0, 0);
}

Status PgStore::migrate() {
  for (const auto& m : pg::migrations()) {
    std::string what = "migration " + std::to_string(m.version) + " (" + m.name + ")";
    Transaction tx(*conn_);
    if (!tx.begin()) return tx.begin().error().withContext("migrate");
    // Coordinators starting together migrate one at a time (per schema); the lock goes with
    // the transaction.
    auto lock = conn_->exec("migrate",
                            "SELECT pg_advisory_xact_lock(hashtext('zlh.migrate.' || "
                            "coalesce(current_schema(), '')))");
    if (!lock) return lock.error();
    auto create = conn_->execScript("create schema_migrations",
                                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                    "version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)");
    if (!create) return create.error();
    auto check =
        conn_->exec("migrate", "SELECT 1 FROM schema_migrations WHERE version = $1", {m.version});
    if (!check) return check.error();
    if (!check->empty()) continue;
    if (auto r = conn_->execScript(what, m.sql); !r) return r.error();
    auto ins = conn_->exec("record migration",
                           "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                           {m.version, common::toUnixMs(common::now())});
    if (!ins) return ins.error();
    if (auto st = tx.commit("commit " + what); !st) return st;
  }
  return {};
}

Result<int> PgStore::schemaVersion() {
  auto has = hasSchema();
  if (!has) return has.error().withContext("schema version");
  if (!*has) return 0;
  auto r = conn_->exec("schema version", "SELECT coalesce(max(version), 0) FROM schema_migrations");
  if (!r) return r.error();
  return static_cast<int>(r->int64(0, 0));
}

int PgStore::latestSchemaVersion() const { return pg::migrations().back().version; }

Status PgStore::ping() {
  auto r = conn_->exec("ping", "SELECT count(*) FROM schema_migrations");
  if (!r) return r.error();
  return {};
}

Result<User> PgStore::insertUser(const NewUser& user) {
  User u{common::newId("usr_"), user.name, user.role, pg::nowMs()};
  auto r = conn_->exec("create user",
                       "INSERT INTO users (id, name, role, created_at) VALUES ($1, $2, $3, $4)",
                       {u.id, u.name, toString(u.role), common::toUnixMs(u.created_at)});
  if (!r && conn_->lastSqlState() == pg::kUniqueViolation)
    return makeError(ErrorCode::kConflict, "a user named \"" + user.name + "\" already exists");
  if (!r) return r.error();
  return u;
}

Result<User> PgStore::createUser(const NewUser& user) {
  Transaction tx(*conn_);
  if (!tx.begin()) return tx.begin().error().withContext("create user");
  auto u = insertUser(user);
  if (!u) return u.error();
  if (auto st = tx.commit("create user"); !st) return st.error();
  return u;
}

Result<User> PgStore::getUser(const std::string& id) {
  auto r =
      conn_->exec("get user", "SELECT id, name, role, created_at FROM users WHERE id = $1", {id});
  if (!r) return r.error();
  if (r->empty()) return makeError(ErrorCode::kNotFound, "user " + id + " not found");
  return readUser(*r, 0);
}

Result<std::pair<User, TokenRecord>> PgStore::createUserWithToken(const NewUser& user,
                                                                  const std::string& sha256) {
  Transaction tx(*conn_);
  if (!tx.begin()) return tx.begin().error().withContext("create user");
  auto u = insertUser(user);
  if (!u) return u.error();
  auto t = insertToken(TokenKind::kUser, u->id, sha256);
  if (!t) return t.error();
  if (auto st = tx.commit("create user"); !st) return st.error();
  return std::pair{std::move(*u), std::move(*t)};
}

Result<TokenRecord> PgStore::insertToken(TokenKind kind, const std::string& owner_id,
                                         const std::string& sha256) {
  TokenRecord t{common::newId("tok_"), kind, owner_id, sha256, pg::nowMs(), std::nullopt};
  auto r = conn_->exec(
      "create token",
      "INSERT INTO tokens (id, kind, owner_id, sha256, created_at) VALUES ($1, $2, $3, $4, $5)",
      {t.id, toString(kind), owner_id, sha256, common::toUnixMs(t.created_at)});
  if (!r && conn_->lastSqlState() == pg::kUniqueViolation)
    return makeError(ErrorCode::kConflict, "token already exists");
  if (!r) return r.error();
  return t;
}

Result<TokenRecord> PgStore::createToken(TokenKind kind, const std::string& owner_id,
                                         const std::string& sha256) {
  Transaction tx(*conn_);
  if (!tx.begin()) return tx.begin().error().withContext("create token");
  // FOR SHARE: a concurrent deleteNode cannot remove the owner before the token is written.
  auto owner = conn_->exec("find token owner",
                           kind == TokenKind::kUser ? "SELECT 1 FROM users WHERE id = $1 FOR SHARE"
                                                    : "SELECT 1 FROM nodes WHERE id = $1 FOR SHARE",
                           {owner_id});
  if (!owner) return owner.error();
  if (owner->empty())
    return makeError(
        ErrorCode::kNotFound,
        std::string(kind == TokenKind::kUser ? "user " : "node ") + owner_id + " not found");
  auto t = insertToken(kind, owner_id, sha256);
  if (!t) return t.error();
  if (auto st = tx.commit("create token"); !st) return st.error();
  return t;
}

Result<TokenRecord> PgStore::selectToken(const std::string& sha256, bool active_only) {
  auto r = conn_->exec(
      "find token",
      active_only ? "SELECT id, kind, owner_id, sha256, created_at, revoked_at FROM tokens "
                    "WHERE sha256 = $1 AND revoked_at IS NULL"
                  : "SELECT id, kind, owner_id, sha256, created_at, revoked_at FROM tokens "
                    "WHERE sha256 = $1",
      {sha256});
  if (!r) return r.error();
  if (r->empty()) return makeError(ErrorCode::kNotFound, "token not found");
  TokenRecord t = readToken(*r, 0);
  // The index found it; the constant-time compare keeps the check itself free of timing leaks.
  if (!common::constantTimeEquals(t.sha256, sha256))
    return makeError(ErrorCode::kNotFound, "token not found");
  return t;
}

Result<TokenRecord> PgStore::findActiveToken(const std::string& sha256) {
  return selectToken(sha256, true);
}

Result<TokenRecord> PgStore::findToken(const std::string& sha256) {
  return selectToken(sha256, false);
}

}  // namespace zlh::coordinator::store
