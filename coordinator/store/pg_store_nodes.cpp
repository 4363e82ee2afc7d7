// PgStore: nodes.
#include "coordinator/common/tokens.h"
#include "coordinator/store/json_columns.h"
#include "coordinator/store/pg_conn.h"
#include "coordinator/store/pg_rows.h"
#include "coordinator/store/pg_store.h"

namespace zlh::coordinator::store {
namespace {
using nlohmann::json;
using pg::Rows;
using pg::Transaction;
using proto::ErrorCode;
using proto::makeError;

#define ZLH_PG_NODE_COLUMNS \
  "id, name, created_at, last_seen, version, capacity, metrics_url, plugins, link_owner, " \
  "link_expires_at"

Node readNode(const Rows& r, int row) {
  Node n;
  n.id = r.text(row, 0);
  n.name = r.text(row, 1);
  n.created_at = common::fromUnixMs(r.int64(row, 2));
  if (auto v = r.optInt64(row, 3)) n.last_seen = common::fromUnixMs(*v);
  n.version = r.optText(row, 4);
  if (auto c = r.optText(row, 5)) n.capacity = columns::jsonColumn(*c, json::object());
  n.metrics_url = r.optText(row, 6);
  n.plugins = columns::jsonColumn(r.text(row, 7), json::array());
  n.link_owner = r.optText(row, 8);
  if (auto v = r.optInt64(row, 9)) n.link_expires_at = common::fromUnixMs(*v);
  return n;
}
}  // namespace

Result<Node> PgStore::insertNode(const std::string& name) {
  Node n;
  n.id = common::newId("nd_");
  n.name = name;
  n.created_at = pg::nowMs();
  auto r =
      conn_->exec("create node", "INSERT INTO nodes (id, name, created_at) VALUES ($1, $2, $3)",
                  {n.id, n.name, common::toUnixMs(n.created_at)});
  if (!r && conn_->lastSqlState() == pg::kUniqueViolation)
    return makeError(ErrorCode::kConflict, "a node named \"" + name + "\" already exists");
  if (!r) return r.error();
  return n;
}

Result<std::pair<Node, TokenRecord>> PgStore::createNodeWithToken(const std::string& name,
                                                                  const std::string& sha256) {
  Transaction tx(*conn_);
  if (!tx.begin()) return tx.begin().error().withContext("create node");
  auto n = insertNode(name);
  if (!n) return n.error();
  auto t = insertToken(TokenKind::kNode, n->id, sha256);
  if (!t) return t.error();
  if (auto st = tx.commit("create node"); !st) return st.error();
  return std::pair{std::move(*n), std::move(*t)};
}

Result<Node> PgStore::getNode(const std::string& id) {
  auto r = conn_->exec("get node", "SELECT " ZLH_PG_NODE_COLUMNS " FROM nodes WHERE id = $1", {id});
  if (!r) return r.error();
  if (r->empty()) return makeError(ErrorCode::kNotFound, "node " + id + " not found");
  return readNode(*r, 0);
}

Result<std::vector<Node>> PgStore::listNodes() {
  // COLLATE "C": byte order, as SQLite's BINARY collation sorts.
  auto r = conn_->exec("list nodes",
                       "SELECT " ZLH_PG_NODE_COLUMNS " FROM nodes ORDER BY name COLLATE \"C\"");
  if (!r) return r.error();
  std::vector<Node> out;
  for (int i = 0; i < r->size(); ++i) out.push_back(readNode(*r, i));
  return out;
}

Status PgStore::deleteNode(const std::string& id) {
  Transaction tx(*conn_);
  if (!tx.begin()) return tx.begin().error().withContext("delete node");
  auto revoke = conn_->exec("revoke node tokens",
                            "UPDATE tokens SET revoked_at = $1 WHERE kind = 'node' AND "
                            "owner_id = $2 AND revoked_at IS NULL",
                            {common::toUnixMs(common::now()), id});
  if (!revoke) return revoke.error();
  auto del = conn_->exec("delete node", "DELETE FROM nodes WHERE id = $1", {id});
  if (!del) return del.error();
  if (del->affected() == 0) return makeError(ErrorCode::kNotFound, "node " + id + " not found");
  return tx.commit("delete node");
}

Status PgStore::recordHello(const std::string& node_id, const NodeHello& hello) {
  auto r =
      conn_->exec("record hello",
                  "UPDATE nodes SET last_seen = $1, version = $2, capacity = $3, "
                  "metrics_url = $4, plugins = $5 WHERE id = $6",
                  {common::toUnixMs(hello.seen), hello.version, columns::dumpJson(hello.capacity),
                   hello.metrics_url, columns::dumpJson(hello.plugins), node_id});
  if (!r) return r.error();
  if (r->affected() == 0) return makeError(ErrorCode::kNotFound, "node " + node_id + " not found");
  return {};
}

Status PgStore::touchNode(const std::string& node_id, Time seen) {
  auto r = conn_->exec("touch node", "UPDATE nodes SET last_seen = $1 WHERE id = $2",
                       {common::toUnixMs(seen), node_id});
  if (!r) return r.error();
  if (r->affected() == 0) return makeError(ErrorCode::kNotFound, "node " + node_id + " not found");
  return {};
}

}  // namespace zlh::coordinator::store
