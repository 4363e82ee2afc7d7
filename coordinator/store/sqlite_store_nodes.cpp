// SqliteStore: nodes.
#include "coordinator/common/tokens.h"
#include "coordinator/store/sqlite_db.h"
#include "coordinator/store/sqlite_store.h"

namespace zlh::coordinator::store {
namespace {
using proto::ErrorCode;
using proto::makeError;
using sqlite::Stmt;
using sqlite::WriteTransaction;
using nlohmann::json;

constexpr const char* kNodeColumns =
    "id, name, created_at, last_seen, version, capacity, metrics_url, plugins, link_owner, "
    "link_expires_at";

json parseJsonColumn(const std::string& text, json fallback) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? fallback : j;
}

Node readNode(const Stmt& s) {
  Node n;
  n.id = s.text(0);
  n.name = s.text(1);
  n.created_at = common::fromUnixMs(s.int64(2));
  if (auto v = s.optInt64(3)) n.last_seen = common::fromUnixMs(*v);
  n.version = s.optText(4);
  if (auto c = s.optText(5)) n.capacity = parseJsonColumn(*c, json::object());
  n.metrics_url = s.optText(6);
  n.plugins = parseJsonColumn(s.text(7), json::array());
  n.link_owner = s.optText(8);
  if (auto v = s.optInt64(9)) n.link_expires_at = common::fromUnixMs(*v);
  return n;
}
}  // namespace

Result<Node> SqliteStore::insertNode(const std::string& name) {
  Node n;
  n.id = common::newId("nd_");
  n.name = name;
  n.created_at = common::fromUnixMs(common::toUnixMs(common::now()));
  Stmt s(db_, "INSERT INTO nodes (id, name, created_at) VALUES (?, ?, ?)");
  s.bind(1, n.id).bind(2, n.name).bind(3, common::toUnixMs(n.created_at));
  int rc = s.step();
  if (sqlite::isUniqueViolation(rc))
    return makeError(ErrorCode::kConflict, "a node named \"" + name + "\" already exists");
  if (rc != SQLITE_DONE) return sqlite::toError(db_, rc, "create node");
  return n;
}

Result<std::pair<Node, TokenRecord>> SqliteStore::createNodeWithToken(const std::string& name,
                                                                      const std::string& sha256) {
  WriteTransaction tx(db_, *writers_);
  if (tx.beginStatus() != SQLITE_OK) return sqlite::toError(db_, tx.beginStatus(), "create node");
  auto n = insertNode(name);
  if (!n) return n.error();
  auto t = insertToken(TokenKind::kNode, n->id, sha256);
  if (!t) return t.error();
  if (int rc = tx.commit(); rc != SQLITE_OK) return sqlite::toError(db_, rc, "create node");
  return std::pair{std::move(*n), std::move(*t)};
}

Result<Node> SqliteStore::getNode(const std::string& id) {
  Stmt s(db_, std::string("SELECT ") + kNodeColumns + " FROM nodes WHERE id = ?");
  s.bind(1, id);
  int rc = s.step();
  if (rc == SQLITE_DONE) return makeError(ErrorCode::kNotFound, "node " + id + " not found");
  if (rc != SQLITE_ROW) return sqlite::toError(db_, rc, "get node");
  return readNode(s);
}

Result<std::vector<Node>> SqliteStore::listNodes() {
  Stmt s(db_, std::string("SELECT ") + kNodeColumns + " FROM nodes ORDER BY name");
  std::vector<Node> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(readNode(s));
  if (rc != SQLITE_DONE) return sqlite::toError(db_, rc, "list nodes");
  return out;
}

Status SqliteStore::deleteNode(const std::string& id) {
  WriteTransaction tx(db_, *writers_);
  if (tx.beginStatus() != SQLITE_OK) return sqlite::toError(db_, tx.beginStatus(), "delete node");
  Stmt revoke(db_, "UPDATE tokens SET revoked_at = ? WHERE kind = 'node' AND owner_id = ? "
                   "AND revoked_at IS NULL");
  revoke.bind(1, common::toUnixMs(common::now())).bind(2, id);
  int rc = revoke.step();
  if (rc != SQLITE_DONE) return sqlite::toError(db_, rc, "revoke node tokens");
  Stmt del(db_, "DELETE FROM nodes WHERE id = ?");
  del.bind(1, id);
  if ((rc = del.step()) != SQLITE_DONE) return sqlite::toError(db_, rc, "delete node");
  if (sqlite3_changes(db_) == 0) return makeError(ErrorCode::kNotFound, "node " + id + " not found");
  if ((rc = tx.commit()) != SQLITE_OK) return sqlite::toError(db_, rc, "delete node");
  return {};
}

Status SqliteStore::recordHello(const std::string& node_id, const NodeHello& hello) {
  WriteTransaction tx(db_, *writers_);
  if (tx.beginStatus() != SQLITE_OK) return sqlite::toError(db_, tx.beginStatus(), "record hello");
  Stmt s(db_, "UPDATE nodes SET last_seen = ?, version = ?, capacity = ?, metrics_url = ?, "
              "plugins = ? WHERE id = ?");
  s.bind(1, common::toUnixMs(hello.seen)).bind(2, hello.version).bind(3, hello.capacity.dump());
  s.bind(4, hello.metrics_url).bind(5, hello.plugins.dump()).bind(6, node_id);
  int rc = s.step();
  if (rc != SQLITE_DONE) return sqlite::toError(db_, rc, "record hello");
  if (sqlite3_changes(db_) == 0) return makeError(ErrorCode::kNotFound, "node " + node_id + " not found");
  if ((rc = tx.commit()) != SQLITE_OK) return sqlite::toError(db_, rc, "record hello");
  return {};
}

Status SqliteStore::touchNode(const std::string& node_id, Time seen) {
  WriteTransaction tx(db_, *writers_);  // a single statement, but writes wait their turn
  if (tx.beginStatus() != SQLITE_OK) return sqlite::toError(db_, tx.beginStatus(), "touch node");
  Stmt s(db_, "UPDATE nodes SET last_seen = ? WHERE id = ?");
  s.bind(1, common::toUnixMs(seen)).bind(2, node_id);
  int rc = s.step();
  if (rc != SQLITE_DONE) return sqlite::toError(db_, rc, "touch node");
  if (sqlite3_changes(db_) == 0) return makeError(ErrorCode::kNotFound, "node " + node_id + " not found");
  if ((rc = tx.commit()) != SQLITE_OK) return sqlite::toError(db_, rc, "touch node");
  return {};
}

}  // namespace zlh::coordinator::store
