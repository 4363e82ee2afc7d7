// SqliteStore: instance creation with idempotency keys, operations and their outcomes.
#include "coordinator/store/placement.h"
#include "coordinator/store/sqlite_placement.h"
#include "coordinator/store/sqlite_rows.h"
#include "coordinator/store/sqlite_store.h"

namespace zlh::coordinator::store {
namespace {
using nlohmann::json;
using proto::ErrorCode;
using proto::makeError;
using sqlite::Stmt;
using sqlite::WriteTransaction;

constexpr const char* kUnfinished = "('queued', 'waiting', 'running')";

std::string dumpJson(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}
}  // namespace

Result<Operation> SqliteStore::insertOperation(OperationKind kind, const std::string& instance_id,
                                               const std::string& user_id,
                                               const std::string& node_id, const json& params,
                                               Time at) {
  Operation op = queuedOperation(kind, instance_id, user_id, node_id, params, at);
  Stmt s(db_,
         "INSERT INTO operations (id, kind, state, instance_id, user_id, node_id, attempts, "
         "params, created_at, updated_at) VALUES (?, ?, 'queued', ?, ?, ?, 0, ?, ?, ?)");
  s.bind(1, op.id).bind(2, toString(kind)).bind(3, instance_id).bind(4, user_id).bind(5, node_id);
  s.bind(6, dumpJson(params)).bind(7, common::toUnixMs(at)).bind(8, common::toUnixMs(at));
  int rc = s.step();
  if (rc != SQLITE_DONE) return sqlite::toError(db_, rc, "create operation");
  // Its job, in the same transaction: the queue is how the operation gets done.
  Stmt j(db_,
         "INSERT INTO jobs (id, queue, kind, operation_id, node_id, payload, state, max_attempts, "
         "run_at, created_at, updated_at) VALUES (?, 'provisioning', ?, ?, ?, '{}', 'available', "
         "?, ?, ?, ?)");
  j.bind(1, jobIdOfOperation(op.id)).bind(2, toString(kind)).bind(3, op.id).bind(4, node_id);
  j.bind(5, kDefaultMaxAttempts).bind(6, common::toUnixMs(at)).bind(7, common::toUnixMs(at));
  j.bind(8, common::toUnixMs(at));
  if ((rc = j.step()) != SQLITE_DONE) return sqlite::toError(db_, rc, "enqueue operation job");
  return op;
}

Result<std::optional<IdempotencyRecord>> SqliteStore::selectIdempotencyKey(
    const std::string& user_id, const std::string& key) {
  Stmt s(db_, std::string("SELECT ") + sqlite::kIdempotencyColumns +
                  " FROM idempotency_keys WHERE user_id = ? AND key = ?");
  s.bind(1, user_id).bind(2, key);
  int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<IdempotencyRecord>{};
  if (rc != SQLITE_ROW) return sqlite::toError(db_, rc, "find idempotency key");
  return std::optional<IdempotencyRecord>{sqlite::readIdempotency(s)};
}

Result<std::optional<IdempotencyRecord>> SqliteStore::findIdempotencyKey(const std::string& user_id,
                                                                         const std::string& key) {
  return selectIdempotencyKey(user_id, key);
}

Result<CreateOutcome> SqliteStore::createInstance(const NewInstance& request,
                                                  const IdempotencyClaim& claim) {
  WriteTransaction tx(db_, *writers_);
  if (tx.beginStatus() != SQLITE_OK)
    return sqlite::toError(db_, tx.beginStatus(), "create instance");
  Time now = sqlite::nowMs();
  int64_t now_ms = common::toUnixMs(now);
  Stmt prune(db_, "DELETE FROM idempotency_keys WHERE created_at < ?");
  prune.bind(1, now_ms - kIdempotencyRetentionMs);
  int rc = prune.step();
  if (rc != SQLITE_DONE) return sqlite::toError(db_, rc, "prune idempotency keys");
  auto placed = sqlite::placeInstance(db_, request);
  if (!placed) {
    // A retry of a create that took the last room is a replay, not a refusal.
    auto existing = selectIdempotencyKey(claim.user_id, claim.key);
    if (existing && *existing)
      return CreateOutcome{std::nullopt, std::nullopt, std::move(**existing)};
    return placed.error();
  }
  const NewInstance& in = *placed;

  Instance inst = instanceRecord(in, now);

  auto op = insertOperation(OperationKind::kInstanceCreate, inst.id, in.requested_by, in.node_id,
                            in.operation_params, now);
  if (!op) return op.error();
  // The unique (user_id, key) index decides which of concurrent identical requests creates.
  Stmt claim_key(db_,
                 "INSERT INTO idempotency_keys (user_id, key, request_hash, operation_id, "
                 "instance_id, created_at) VALUES (?, ?, ?, ?, ?, ?) "
                 "ON CONFLICT (user_id, key) DO NOTHING");
  claim_key.bind(1, claim.user_id).bind(2, claim.key).bind(3, claim.request_hash);
  claim_key.bind(4, op->id).bind(5, inst.id).bind(6, now_ms);
  if ((rc = claim_key.step()) != SQLITE_DONE)
    return sqlite::toError(db_, rc, "claim idempotency key");
  if (sqlite3_changes(db_) == 0) {
    auto existing = selectIdempotencyKey(claim.user_id, claim.key);
    if (!existing) return existing.error();
    if (!*existing) return makeError(ErrorCode::kInternal, "idempotency key vanished");
    return CreateOutcome{std::nullopt, std::nullopt, std::move(**existing)};  // rolls back
  }

  Stmt s(db_,
         "INSERT INTO instances (id, name, owner_id, template, node_id, state, desired_state, "
         "unresponsive, address, state_version, params, env, resources, reserved_memory_mb, "
         "reserved_disk_mb, created_at, updated_at) "
         "VALUES (?, ?, ?, ?, ?, ?, ?, 0, NULL, 0, ?, ?, ?, ?, ?, ?, ?)");
  s.bind(1, inst.id).bind(2, inst.name).bind(3, inst.owner_id).bind(4, inst.template_name);
  s.bind(5, inst.node_id).bind(6, inst.state).bind(7, inst.desired_state);
  s.bind(8, dumpJson(inst.params)).bind(9, dumpJson(inst.env)).bind(10, dumpJson(inst.resources));
  s.bindOpt(11, reservedColumn(inst.resources, "memory_mb"));
  s.bindOpt(12, reservedColumn(inst.resources, "disk_mb"));
  s.bind(13, now_ms).bind(14, now_ms);
  rc = s.step();
  if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
    return makeError(ErrorCode::kNotFound, "user " + in.owner_id + " not found");
  if (rc != SQLITE_DONE) return sqlite::toError(db_, rc, "create instance");
  if ((rc = tx.commit()) != SQLITE_OK) return sqlite::toError(db_, rc, "create instance");
  return CreateOutcome{std::move(inst), std::move(*op), std::nullopt};
}

Result<std::pair<Instance, Operation>> SqliteStore::startOperation(const NewOperation& req) {
  WriteTransaction tx(db_, *writers_);
  if (tx.beginStatus() != SQLITE_OK)
    return sqlite::toError(db_, tx.beginStatus(), "start operation");
  auto inst = getInstance(req.instance_id);
  if (!inst) return inst.error();
  Time now = sqlite::nowMs();
  Stmt s(db_, "UPDATE instances SET desired_state = ?, updated_at = ? WHERE id = ?");
  s.bind(1, req.desired_state).bind(2, common::toUnixMs(now)).bind(3, req.instance_id);
  int rc = s.step();
  if (rc != SQLITE_DONE) return sqlite::toError(db_, rc, "set desired state");
  auto op = insertOperation(req.kind, req.instance_id, req.user_id, inst->node_id, req.params, now);
  if (!op) return op.error();
  if ((rc = tx.commit()) != SQLITE_OK) return sqlite::toError(db_, rc, "start operation");
  inst->desired_state = req.desired_state;
  inst->updated_at = now;
  return std::pair{std::move(*inst), std::move(*op)};
}

Result<Operation> SqliteStore::getOperation(const std::string& id) {
  Stmt s(db_, std::string("SELECT ") + sqlite::kOperationColumns + " FROM operations WHERE id = ?");
  s.bind(1, id);
  int rc = s.step();
  if (rc == SQLITE_DONE) return makeError(ErrorCode::kNotFound, "operation " + id + " not found");
  if (rc != SQLITE_ROW) return sqlite::toError(db_, rc, "get operation");
  return sqlite::readOperation(s);
}

Result<std::optional<Operation>> SqliteStore::findUnfinishedOperation(
    const std::string& instance_id, OperationKind kind) {
  Stmt s(db_, std::string("SELECT ") + sqlite::kOperationColumns +
                  " FROM operations WHERE instance_id = ? AND kind = ? AND state IN " +
                  kUnfinished + " ORDER BY created_at DESC, rowid DESC LIMIT 1");
  s.bind(1, instance_id).bind(2, toString(kind));
  int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<Operation>{};
  if (rc != SQLITE_ROW) return sqlite::toError(db_, rc, "find operation");
  return std::optional<Operation>{sqlite::readOperation(s)};
}

Status SqliteStore::applyOutcomeToInstance(const Operation& op, const OperationOutcome& outcome,
                                           Time at) {
  int rc;
  if (outcome.delete_instance) {
    Stmt del(db_, "DELETE FROM instances WHERE id = ?");
    del.bind(1, op.instance_id);
    if ((rc = del.step()) != SQLITE_DONE) return sqlite::toError(db_, rc, "delete instance");
    return {};
  }
  if (outcome.observe) {
    auto applied = applyObservation(*outcome.observe, at);
    if (!applied && applied.error().code != ErrorCode::kNotFound) return applied.error();
  }
  if (outcome.force_state || outcome.desired_state) {
    Stmt s(db_,
           "UPDATE instances SET state = coalesce(?, state), "
           "desired_state = coalesce(?, desired_state), updated_at = ? WHERE id = ?");
    s.bindOpt(1, outcome.force_state).bindOpt(2, outcome.desired_state);
    s.bind(3, common::toUnixMs(at)).bind(4, op.instance_id);
    if ((rc = s.step()) != SQLITE_DONE) return sqlite::toError(db_, rc, "update instance");
  }
  return {};
}

Result<bool> SqliteStore::finishOperation(const std::string& id, const OperationOutcome& outcome) {
  if (!isFinal(outcome.state))
    return makeError(ErrorCode::kInvalidArgument, "finishOperation takes a final state");
  WriteTransaction tx(db_, *writers_);
  if (tx.beginStatus() != SQLITE_OK)
    return sqlite::toError(db_, tx.beginStatus(), "finish operation");
  auto done = finishOperationInTx(id, outcome, sqlite::nowMs());
  if (!done || !*done) return done;
  if (int rc = tx.commit(); rc != SQLITE_OK) return sqlite::toError(db_, rc, "finish operation");
  return true;
}

Result<bool> SqliteStore::finishOperationInTx(const std::string& id,
                                              const OperationOutcome& outcome, Time now) {
  auto op = getOperation(id);
  if (!op) return op.error();
  if (isFinal(op->state)) return false;
  Stmt s(db_, "UPDATE operations SET state = ?, error = ?, updated_at = ? WHERE id = ?");
  s.bind(1, toString(outcome.state)).bindOpt(2, sqlite::errorText(outcome.error));
  s.bind(3, common::toUnixMs(now)).bind(4, id);
  int rc = s.step();
  if (rc != SQLITE_DONE) return sqlite::toError(db_, rc, "finish operation");
  if (auto st = applyOutcomeToInstance(*op, outcome, now); !st) return st.error();
  return true;
}

Result<std::map<std::pair<std::string, std::string>, int64_t>> SqliteStore::countOperations() {
  Stmt s(db_, "SELECT kind, state, count(*) FROM operations GROUP BY kind, state");
  std::map<std::pair<std::string, std::string>, int64_t> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out[{s.text(0), s.text(1)}] = s.int64(2);
  if (rc != SQLITE_DONE) return sqlite::toError(db_, rc, "count operations");
  return out;
}

Result<std::vector<OperationBacklog>> SqliteStore::operationBacklog() {
  // Reads only the unfinished rows (the partial index operations_unfinished holds them).
  Stmt s(db_, std::string("SELECT kind, state, count(*), min(created_at) FROM operations "
                          "WHERE state IN ") +
                  kUnfinished + " GROUP BY kind, state");
  std::vector<OperationBacklog> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    auto kind = parseOperationKind(s.text(0));
    auto state = parseOperationState(s.text(1));
    if (!kind || !state) continue;  // the table's CHECK constraints keep this from happening
    out.push_back({*kind, *state, s.int64(2), common::fromUnixMs(s.int64(3))});
  }
  if (rc != SQLITE_DONE) return sqlite::toError(db_, rc, "operation backlog");
  return out;
}

}  // namespace zlh::coordinator::store
