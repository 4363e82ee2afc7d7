// SqliteStore: instances, agent observations and instance events.
#include <limits>

#include "coordinator/store/sqlite_rows.h"
#include "coordinator/store/sqlite_store.h"

namespace zlh::coordinator::store {
namespace {
using proto::ErrorCode;
using proto::makeError;
using sqlite::Stmt;
using sqlite::WriteTransaction;

int64_t versionColumn(uint64_t v) {
  constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  return static_cast<int64_t>(v > kMax ? kMax : v);
}
}  // namespace

Result<Instance> SqliteStore::getInstance(const std::string& id) {
  Stmt s(db_, std::string("SELECT ") + sqlite::kInstanceColumns + " FROM instances WHERE id = ?");
  s.bind(1, id);
  int rc = s.step();
  if (rc == SQLITE_DONE) return makeError(ErrorCode::kNotFound, "instance " + id + " not found");
  if (rc != SQLITE_ROW) return sqlite::toError(db_, rc, "get instance");
  return sqlite::readInstance(s);
}

Result<std::vector<Instance>> SqliteStore::listInstances(
    const std::optional<std::string>& owner_id) {
  std::string sql = std::string("SELECT ") + sqlite::kInstanceColumns + " FROM instances" +
                    (owner_id ? " WHERE owner_id = ?" : "") + " ORDER BY created_at, id";
  Stmt s(db_, sql);
  if (owner_id) s.bind(1, *owner_id);
  std::vector<Instance> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(sqlite::readInstance(s));
  if (rc != SQLITE_DONE) return sqlite::toError(db_, rc, "list instances");
  return out;
}

Result<std::vector<Instance>> SqliteStore::listInstancesOnNode(const std::string& node_id) {
  Stmt s(db_, std::string("SELECT ") + sqlite::kInstanceColumns +
                  " FROM instances WHERE node_id = ? ORDER BY created_at, id");
  s.bind(1, node_id);
  std::vector<Instance> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(sqlite::readInstance(s));
  if (rc != SQLITE_DONE) return sqlite::toError(db_, rc, "list instances of node");
  return out;
}

Result<std::map<std::string, int64_t>> SqliteStore::countInstancesByNode() {
  Stmt s(db_, "SELECT node_id, count(*) FROM instances GROUP BY node_id");
  std::map<std::string, int64_t> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out[s.text(0)] = s.int64(1);
  if (rc != SQLITE_DONE) return sqlite::toError(db_, rc, "count instances by node");
  return out;
}

Result<std::map<std::string, int64_t>> SqliteStore::countInstancesByState() {
  Stmt s(db_,
         "SELECT CASE WHEN desired_state = 'deleted' THEN 'deleting' ELSE state END AS st, "
         "count(*) FROM instances GROUP BY st");
  std::map<std::string, int64_t> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out[s.text(0)] = s.int64(1);
  if (rc != SQLITE_DONE) return sqlite::toError(db_, rc, "count instances by state");
  return out;
}

Result<bool> SqliteStore::applyObservation(const Observation& o, Time at) {
  Stmt s(db_,
         "UPDATE instances SET state = coalesce(?1, state), "
         "desired_state = CASE WHEN ?9 AND desired_state = 'running' AND "
         "state IN ('starting', 'running', 'ready') THEN 'stopped' ELSE desired_state END, "
         "unresponsive = coalesce(?2, unresponsive), "
         "address = CASE WHEN ?3 THEN ?4 ELSE address END, "
         "state_version = max(state_version, ?5), updated_at = ?6 "
         "WHERE id = ?7 AND node_id = ?8 AND state_version <= ?5");
  s.bindOpt(1, o.state);
  s.bindOpt(2, o.unresponsive ? std::optional<int64_t>(*o.unresponsive ? 1 : 0) : std::nullopt);
  s.bind(3, int64_t{o.set_address ? 1 : 0}).bindOpt(4, o.address);
  s.bind(5, versionColumn(o.state_version)).bind(6, common::toUnixMs(at));
  s.bind(7, o.instance_id).bind(8, o.node_id).bind(9, int64_t{o.stopped_by_itself ? 1 : 0});
  int rc = s.step();
  if (rc != SQLITE_DONE) return sqlite::toError(db_, rc, "update instance");
  if (sqlite3_changes(db_) == 0) {
    Stmt exists(db_, "SELECT 1 FROM instances WHERE id = ? AND node_id = ?");
    exists.bind(1, o.instance_id).bind(2, o.node_id);
    rc = exists.step();
    if (rc == SQLITE_DONE)
      return makeError(ErrorCode::kNotFound,
                       "instance " + o.instance_id + " not found on node " + o.node_id);
    if (rc != SQLITE_ROW) return sqlite::toError(db_, rc, "find instance");
    return false;  // stale
  }
  if (o.event) {
    if (auto st = insertEvent(o.instance_id, *o.event); !st) return st.error();
  }
  return true;
}

Result<bool> SqliteStore::observeInstance(const Observation& observation) {
  WriteTransaction tx(db_, *writers_);
  if (tx.beginStatus() != SQLITE_OK)
    return sqlite::toError(db_, tx.beginStatus(), "observe instance");
  auto applied = applyObservation(observation, sqlite::nowMs());
  if (!applied) return applied.error();
  if (int rc = tx.commit(); rc != SQLITE_OK) return sqlite::toError(db_, rc, "observe instance");
  return applied;
}

Status SqliteStore::insertEvent(const std::string& instance_id, const InstanceEvent& event) {
  Stmt ins(db_, "INSERT INTO instance_events (instance_id, at, type, body) VALUES (?, ?, ?, ?)");
  ins.bind(1, instance_id).bind(2, common::toUnixMs(event.at)).bind(3, event.type);
  ins.bind(4, event.body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  int rc = ins.step();
  if (rc != SQLITE_DONE) return sqlite::toError(db_, rc, "record instance event");
  Stmt prune(db_,
             "DELETE FROM instance_events WHERE instance_id = ?1 AND id <= "
             "(SELECT id FROM instance_events WHERE instance_id = ?1 ORDER BY id DESC "
             "LIMIT 1 OFFSET ?2)");
  prune.bind(1, instance_id).bind(2, kMaxEventsPerInstance);
  if ((rc = prune.step()) != SQLITE_DONE) return sqlite::toError(db_, rc, "prune instance events");
  return {};
}

Result<std::vector<InstanceEvent>> SqliteStore::listInstanceEvents(const std::string& instance_id) {
  Stmt s(db_, "SELECT type, at, body FROM instance_events WHERE instance_id = ? ORDER BY id");
  s.bind(1, instance_id);
  std::vector<InstanceEvent> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW)
    out.push_back(InstanceEvent{s.text(0), common::fromUnixMs(s.int64(1)),
                                sqlite::jsonColumn(s.text(2), nlohmann::json::object())});
  if (rc != SQLITE_DONE) return sqlite::toError(db_, rc, "list instance events");
  return out;
}

}  // namespace zlh::coordinator::store
