// PgStore: instances, agent observations and instance events.
#include <limits>

#include "coordinator/store/json_columns.h"
#include "coordinator/store/pg_rows.h"
#include "coordinator/store/pg_store.h"

namespace zlh::coordinator::store {
namespace {
using pg::Rows;
using pg::Transaction;
using proto::ErrorCode;
using proto::makeError;

int64_t versionColumn(uint64_t v) {
  constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  return static_cast<int64_t>(v > kMax ? kMax : v);
}

std::vector<Instance> readInstances(const Rows& r) {
  std::vector<Instance> out;
  out.reserve(static_cast<size_t>(r.size()));
  for (int i = 0; i < r.size(); ++i) out.push_back(pg::readInstance(r, i));
  return out;
}

std::map<std::string, int64_t> readCounts(const Rows& r) {
  std::map<std::string, int64_t> out;
  for (int i = 0; i < r.size(); ++i) out[r.text(i, 0)] = r.int64(i, 1);
  return out;
}
}  // namespace

Result<Instance> PgStore::getInstance(const std::string& id) {
  auto r = conn_->exec("get instance",
                       "SELECT " ZLH_PG_INSTANCE_COLUMNS " FROM instances WHERE id = $1", {id});
  if (!r) return r.error();
  if (r->empty()) return makeError(ErrorCode::kNotFound, "instance " + id + " not found");
  return pg::readInstance(*r, 0);
}

Result<std::vector<Instance>> PgStore::listInstances(const std::optional<std::string>& owner_id) {
  // COLLATE "C" on the id tie-break: byte order, as SQLite compares.
  auto r = owner_id ? conn_->exec("list instances",
                                  "SELECT " ZLH_PG_INSTANCE_COLUMNS
                                  " FROM instances WHERE "
                                  "owner_id = $1 ORDER BY created_at, id COLLATE \"C\"",
                                  {*owner_id})
                    : conn_->exec("list instances",
                                  "SELECT " ZLH_PG_INSTANCE_COLUMNS
                                  " FROM instances ORDER BY created_at, id COLLATE \"C\"");
  if (!r) return r.error();
  return readInstances(*r);
}

Result<std::vector<Instance>> PgStore::listInstancesOnNode(const std::string& node_id) {
  auto r = conn_->exec("list instances of node",
                       "SELECT " ZLH_PG_INSTANCE_COLUMNS
                       " FROM instances WHERE node_id = $1 "
                       "ORDER BY created_at, id COLLATE \"C\"",
                       {node_id});
  if (!r) return r.error();
  return readInstances(*r);
}

Result<std::map<std::string, int64_t>> PgStore::countInstancesByNode() {
  auto r = conn_->exec("count instances by node",
                       "SELECT node_id, count(*) FROM instances GROUP BY node_id");
  if (!r) return r.error();
  return readCounts(*r);
}

Result<std::map<std::string, int64_t>> PgStore::countInstancesByState() {
  auto r = conn_->exec("count instances by state",
                       "SELECT CASE WHEN desired_state = 'deleted' THEN 'deleting' ELSE state END "
                       "AS st, count(*) FROM instances GROUP BY st");
  if (!r) return r.error();
  return readCounts(*r);
}

Result<bool> PgStore::applyObservation(const Observation& o, Time at) {
  // One statement: the version check and the write see the same row (the UPDATE locks it).
  auto r = conn_->exec(
      "update instance",
      "UPDATE instances SET state = coalesce($1::text, state), "
      "desired_state = CASE WHEN $9::boolean AND desired_state = 'running' AND "
      "state IN ('starting', 'running', 'ready') THEN 'stopped' ELSE desired_state END, "
      "unresponsive = coalesce($2::boolean, unresponsive), "
      "address = CASE WHEN $3::boolean THEN $4::text ELSE address END, "
      "state_version = greatest(state_version, $5::bigint), updated_at = $6 "
      "WHERE id = $7 AND node_id = $8 AND state_version <= $5::bigint",
      {o.state, o.unresponsive ? pg::Param(*o.unresponsive) : pg::Param(std::nullopt),
       o.set_address, o.address, versionColumn(o.state_version), common::toUnixMs(at),
       o.instance_id, o.node_id, o.stopped_by_itself});
  if (!r) return r.error();
  if (r->affected() == 0) {
    auto exists =
        conn_->exec("find instance", "SELECT 1 FROM instances WHERE id = $1 AND node_id = $2",
                    {o.instance_id, o.node_id});
    if (!exists) return exists.error();
    if (exists->empty())
      return makeError(ErrorCode::kNotFound,
                       "instance " + o.instance_id + " not found on node " + o.node_id);
    return false;  // stale
  }
  if (o.event) {
    if (auto st = insertEvent(o.instance_id, *o.event); !st) return st.error();
  }
  return true;
}

Result<bool> PgStore::observeInstance(const Observation& observation) {
  Transaction tx(*conn_);
  if (!tx.begin()) return tx.begin().error().withContext("observe instance");
  auto applied = applyObservation(observation, pg::nowMs());
  if (!applied) return applied.error();
  if (auto st = tx.commit("observe instance"); !st) return st.error();
  return applied;
}

Status PgStore::insertEvent(const std::string& instance_id, const InstanceEvent& event) {
  auto ins = conn_->exec(
      "record instance event",
      "INSERT INTO instance_events (instance_id, at, type, body) "
      "VALUES ($1, $2, $3, $4)",
      {instance_id, common::toUnixMs(event.at), event.type, columns::dumpJson(event.body)});
  if (!ins) return ins.error();
  auto prune =
      conn_->exec("prune instance events",
                  "DELETE FROM instance_events WHERE instance_id = $1 AND id <= "
                  "(SELECT id FROM instance_events WHERE instance_id = $1 ORDER BY id DESC "
                  "LIMIT 1 OFFSET $2)",
                  {instance_id, kMaxEventsPerInstance});
  if (!prune) return prune.error();
  return {};
}

Result<std::vector<InstanceEvent>> PgStore::listInstanceEvents(const std::string& instance_id) {
  auto r =
      conn_->exec("list instance events",
                  "SELECT type, at, body FROM instance_events WHERE instance_id = $1 ORDER BY id",
                  {instance_id});
  if (!r) return r.error();
  std::vector<InstanceEvent> out;
  for (int i = 0; i < r->size(); ++i)
    out.push_back(InstanceEvent{r->text(i, 0), common::fromUnixMs(r->int64(i, 1)),
                                columns::jsonColumn(r->text(i, 2), nlohmann::json::object())});
  return out;
}

}  // namespace zlh::coordinator::store
