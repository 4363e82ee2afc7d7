// PgStore: instance creation with idempotency keys, operations and their outcomes.
#include "coordinator/store/json_columns.h"
#include "coordinator/store/pg_placement.h"
#include "coordinator/store/placement.h"
#include "coordinator/store/pg_rows.h"
#include "coordinator/store/pg_store.h"
#include "coordinator/store/queue_types.h"

namespace zlh::coordinator::store {
namespace {
using columns::dumpJson;
using nlohmann::json;
using pg::Rows;
using pg::Transaction;
using proto::ErrorCode;
using proto::makeError;

#define ZLH_PG_UNFINISHED "('queued', 'waiting', 'running')"
#define ZLH_PG_IDEMPOTENCY_COLUMNS \
  "user_id, key, request_hash, operation_id, instance_id, created_at"
}  // namespace

Result<Operation> PgStore::insertOperation(OperationKind kind, const std::string& instance_id,
                                           const std::string& user_id, const std::string& node_id,
                                           const json& params, Time at) {
  Operation op = queuedOperation(kind, instance_id, user_id, node_id, params, at);
  auto r = conn_->exec("create operation",
                       "INSERT INTO operations (id, kind, state, instance_id, user_id, node_id, "
                       "attempts, params, created_at, updated_at) "
                       "VALUES ($1, $2, 'queued', $3, $4, $5, 0, $6, $7, $7)",
                       {op.id, toString(kind), instance_id, user_id, node_id, dumpJson(params),
                        common::toUnixMs(at)});
  if (!r) return r.error();
  // Its job, in the same transaction: the queue is how the operation gets done.
  auto j = conn_->exec("enqueue operation job",
                       "INSERT INTO jobs (id, queue, kind, operation_id, node_id, payload, state, "
                       "max_attempts, run_at, created_at, updated_at) VALUES ($1, 'provisioning', "
                       "$2, $3, $4, '{}', 'available', $5, $6, $6, $6)",
                       {jobIdOfOperation(op.id), toString(kind), op.id, node_id,
                        kDefaultMaxAttempts, common::toUnixMs(at)});
  if (!j) return j.error();
  return op;
}

Result<std::optional<IdempotencyRecord>> PgStore::findIdempotencyKey(const std::string& user_id,
                                                                     const std::string& key) {
  auto r = conn_->exec("find idempotency key",
                       "SELECT " ZLH_PG_IDEMPOTENCY_COLUMNS
                       " FROM idempotency_keys WHERE user_id = $1 AND key = $2",
                       {user_id, key});
  if (!r) return r.error();
  if (r->empty()) return std::optional<IdempotencyRecord>{};
  return std::optional<IdempotencyRecord>{pg::readIdempotency(*r, 0)};
}

Result<CreateOutcome> PgStore::createInstance(const NewInstance& request,
                                              const IdempotencyClaim& claim) {
  Transaction tx(*conn_);
  if (!tx.begin()) return tx.begin().error().withContext("create instance");
  Time now = pg::nowMs();
  int64_t now_ms = common::toUnixMs(now);
  auto prune =
      conn_->exec("prune idempotency keys", "DELETE FROM idempotency_keys WHERE created_at < $1",
                  {now_ms - kIdempotencyRetentionMs});
  if (!prune) return prune.error();
  auto placed = pg::placeInstance(*conn_, request);
  if (!placed) {
    // A retry of a create that took the last room is a replay, not a refusal.
    auto existing = findIdempotencyKey(claim.user_id, claim.key);
    if (existing && *existing)
      return CreateOutcome{std::nullopt, std::nullopt, std::move(**existing)};
    return placed.error();
  }
  const NewInstance& in = *placed;

  Instance inst = instanceRecord(in, now);

  auto op = insertOperation(OperationKind::kInstanceCreate, inst.id, in.requested_by, in.node_id,
                            in.operation_params, now);
  if (!op) return op.error();
  // The unique (user_id, key) index decides between concurrent identical requests: a second
  // inserter waits for the first transaction, then does nothing once it has committed.
  auto claimed =
      conn_->exec("claim idempotency key",
                  "INSERT INTO idempotency_keys (user_id, key, request_hash, "
                  "operation_id, instance_id, created_at) VALUES ($1, $2, $3, $4, $5, $6) "
                  "ON CONFLICT (user_id, key) DO NOTHING",
                  {claim.user_id, claim.key, claim.request_hash, op->id, inst.id, now_ms});
  if (!claimed) return claimed.error();
  if (claimed->affected() == 0) {
    auto existing = findIdempotencyKey(claim.user_id, claim.key);
    if (!existing) return existing.error();
    if (!*existing) return makeError(ErrorCode::kInternal, "idempotency key vanished");
    return CreateOutcome{std::nullopt, std::nullopt, std::move(**existing)};  // rolls back
  }

  auto r = conn_->exec(
      "create instance",
      "INSERT INTO instances (id, name, owner_id, template, node_id, state, desired_state, "
      "unresponsive, address, state_version, params, env, resources, reserved_memory_mb, "
      "reserved_disk_mb, created_at, updated_at) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, false, NULL, 0, $8, $9, $10, $11, $12, $13, $13)",
      {inst.id, inst.name, inst.owner_id, inst.template_name, inst.node_id, inst.state,
       inst.desired_state, dumpJson(inst.params), dumpJson(inst.env), dumpJson(inst.resources),
       reservedColumn(inst.resources, "memory_mb"), reservedColumn(inst.resources, "disk_mb"),
       now_ms});
  if (!r && conn_->lastSqlState() == pg::kForeignKeyViolation)
    return makeError(ErrorCode::kNotFound, "user " + in.owner_id + " not found");
  if (!r) return r.error();
  if (auto st = tx.commit("create instance"); !st) return st.error();
  return CreateOutcome{std::move(inst), std::move(*op), std::nullopt};
}

Result<std::pair<Instance, Operation>> PgStore::startOperation(const NewOperation& req) {
  Transaction tx(*conn_);
  if (!tx.begin()) return tx.begin().error().withContext("start operation");
  Time now = pg::nowMs();
  // UPDATE ... RETURNING: the row is locked and read in one step (SQLite's BEGIN IMMEDIATE
  // gives the same: no one changes it between the read and the write).
  auto r = conn_->exec("set desired state",
                       "UPDATE instances SET desired_state = $1, updated_at = $2 WHERE id = $3 "
                       "RETURNING " ZLH_PG_INSTANCE_COLUMNS,
                       {req.desired_state, common::toUnixMs(now), req.instance_id});
  if (!r) return r.error();
  if (r->empty())
    return makeError(ErrorCode::kNotFound, "instance " + req.instance_id + " not found");
  Instance inst = pg::readInstance(*r, 0);
  auto op = insertOperation(req.kind, req.instance_id, req.user_id, inst.node_id, req.params, now);
  if (!op) return op.error();
  if (auto st = tx.commit("start operation"); !st) return st.error();
  return std::pair{std::move(inst), std::move(*op)};
}

Result<Operation> PgStore::getOperation(const std::string& id) {
  auto r = conn_->exec("get operation",
                       "SELECT " ZLH_PG_OPERATION_COLUMNS " FROM operations WHERE id = $1", {id});
  if (!r) return r.error();
  if (r->empty()) return makeError(ErrorCode::kNotFound, "operation " + id + " not found");
  return pg::readOperation(*r, 0);
}

Result<std::optional<Operation>> PgStore::findUnfinishedOperation(const std::string& instance_id,
                                                                  OperationKind kind) {
  auto r = conn_->exec("find operation",
                       "SELECT " ZLH_PG_OPERATION_COLUMNS
                       " FROM operations WHERE instance_id = $1 "
                       "AND kind = $2 AND state IN " ZLH_PG_UNFINISHED
                       " ORDER BY created_at DESC, seq DESC LIMIT 1",
                       {instance_id, toString(kind)});
  if (!r) return r.error();
  if (r->empty()) return std::optional<Operation>{};
  return std::optional<Operation>{pg::readOperation(*r, 0)};
}

Status PgStore::applyOutcomeToInstance(const Operation& op, const OperationOutcome& outcome,
                                       Time at) {
  if (outcome.delete_instance) {
    auto del =
        conn_->exec("delete instance", "DELETE FROM instances WHERE id = $1", {op.instance_id});
    if (!del) return del.error();
    return {};
  }
  if (outcome.observe) {
    auto applied = applyObservation(*outcome.observe, at);
    if (!applied && applied.error().code != ErrorCode::kNotFound) return applied.error();
  }
  if (outcome.force_state || outcome.desired_state) {
    auto r = conn_->exec(
        "update instance",
        "UPDATE instances SET state = coalesce($1::text, state), "
        "desired_state = coalesce($2::text, desired_state), updated_at = $3 "
        "WHERE id = $4",
        {outcome.force_state, outcome.desired_state, common::toUnixMs(at), op.instance_id});
    if (!r) return r.error();
  }
  return {};
}

Result<bool> PgStore::finishOperation(const std::string& id, const OperationOutcome& outcome) {
  if (!isFinal(outcome.state))
    return makeError(ErrorCode::kInvalidArgument, "finishOperation takes a final state");
  Transaction tx(*conn_);
  if (!tx.begin()) return tx.begin().error().withContext("finish operation");
  auto done = finishOperationInTx(id, outcome, pg::nowMs());
  if (!done || !*done) return done;
  if (auto st = tx.commit("finish operation"); !st) return st.error();
  return true;
}

Result<bool> PgStore::finishOperationInTx(const std::string& id, const OperationOutcome& outcome,
                                          Time now) {
  // FOR UPDATE: of two coordinators finishing the same operation, the second waits, then sees
  // it final and writes nothing (once, as under SQLite's single writer).
  auto r = conn_->exec(
      "finish operation",
      "SELECT " ZLH_PG_OPERATION_COLUMNS " FROM operations WHERE id = $1 FOR UPDATE", {id});
  if (!r) return r.error();
  if (r->empty()) return makeError(ErrorCode::kNotFound, "operation " + id + " not found");
  Operation op = pg::readOperation(*r, 0);
  if (isFinal(op.state)) return false;
  auto upd = conn_->exec(
      "finish operation",
      "UPDATE operations SET state = $1, error = $2, updated_at = $3 WHERE id = $4",
      {toString(outcome.state), columns::errorText(outcome.error), common::toUnixMs(now), id});
  if (!upd) return upd.error();
  if (auto st = applyOutcomeToInstance(op, outcome, now); !st) return st.error();
  return true;
}

Result<std::map<std::pair<std::string, std::string>, int64_t>> PgStore::countOperations() {
  auto r = conn_->exec("count operations",
                       "SELECT kind, state, count(*) FROM operations GROUP BY kind, state");
  if (!r) return r.error();
  std::map<std::pair<std::string, std::string>, int64_t> out;
  for (int i = 0; i < r->size(); ++i) out[{r->text(i, 0), r->text(i, 1)}] = r->int64(i, 2);
  return out;
}

Result<std::vector<OperationBacklog>> PgStore::operationBacklog() {
  auto r = conn_->exec("operation backlog",
                       "SELECT kind, state, count(*), min(created_at) FROM operations "
                       "WHERE state IN " ZLH_PG_UNFINISHED " GROUP BY kind, state");
  if (!r) return r.error();
  std::vector<OperationBacklog> out;
  for (int i = 0; i < r->size(); ++i) {
    auto kind = parseOperationKind(r->text(i, 0));
    auto state = parseOperationState(r->text(i, 1));
    if (!kind || !state) continue;
    out.push_back({*kind, *state, r->int64(i, 2), common::fromUnixMs(r->int64(i, 3))});
  }
  return out;
}

}  // namespace zlh::coordinator::store
