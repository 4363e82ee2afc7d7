// PgStore: job queues (queue_types.h). Claims take the oldest claimable rows FOR UPDATE SKIP
// LOCKED, so concurrent claimers (threads or coordinators) never wait for or share a job; every
// worker write is fenced by (state running, attempt, lease owner) in its WHERE clause, which
// READ COMMITTED re-checks against the committed row.
#include <algorithm>
#include <optional>

#include "coordinator/common/tokens.h"
#include "coordinator/store/pg_rows.h"
#include "coordinator/store/pg_store.h"
#include "coordinator/store/queue_rows.h"

namespace zlh::coordinator::store {
namespace {
using pg::RowRef;
using pg::Transaction;
using proto::ErrorCode;
using proto::makeError;

#define ZLH_PG_FENCE " WHERE id = $1 AND state = 'running' AND attempt = $2 AND lease_owner = $3"

int64_t ms(Time t) { return common::toUnixMs(t); }

std::string nodeListJson(const std::vector<std::string>& ids) { return nlohmann::json(ids).dump(); }
}  // namespace

Result<Job> PgStore::selectJob(const char* context, const char* sql, const std::string& key) {
  auto r = conn_->exec(context, sql, {key});
  if (!r) return r.error();
  if (r->empty()) return makeError(ErrorCode::kNotFound, std::string(context) + ": " + key);
  return readJob(RowRef{*r, 0});
}

Result<Job> PgStore::getJob(const std::string& id) {
  auto j = selectJob("get job", "SELECT " ZLH_JOB_COLUMNS " FROM jobs WHERE id = $1", id);
  if (!j && j.error().code == ErrorCode::kNotFound)
    return makeError(ErrorCode::kNotFound, "job " + id + " not found");
  return j;
}

Result<Job> PgStore::getJobOfOperation(const std::string& operation_id) {
  auto j = selectJob("get job", "SELECT " ZLH_JOB_COLUMNS " FROM jobs WHERE operation_id = $1",
                     operation_id);
  if (!j && j.error().code == ErrorCode::kNotFound)
    return makeError(ErrorCode::kNotFound, "operation " + operation_id + " has no job");
  return j;
}

Result<Job> PgStore::enqueueJob(const NewJob& in, Time now) {
  auto r = conn_->exec(
      "enqueue job",
      "INSERT INTO jobs (id, queue, kind, node_id, payload, state, max_attempts, "
      "run_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'available', "
      "$6, $7, $8, $8) RETURNING " ZLH_JOB_COLUMNS,
      {common::newId("jb_"), toString(in.queue), in.kind, in.node_id, columns::dumpJson(in.payload),
       in.max_attempts, ms(in.run_at.value_or(now)), ms(now)});
  if (!r) return r.error();
  return readJob(RowRef{*r, 0});
}

Status PgStore::setOperationState(const std::string& id, OperationState state,
                                  const std::optional<proto::Error>& error, Time now) {
  auto r =
      conn_->exec("update operation",
                  "UPDATE operations SET state = $1, error = $2, updated_at = $3 WHERE id = $4 "
                  "AND state IN ('queued', 'waiting', 'running')",
                  {toString(state), columns::errorText(error), ms(now), id});
  if (!r) return r.error();
  return {};
}

Result<std::vector<Job>> PgStore::claimJobs(const ClaimRequest& req, Time now) {
  if (req.limit <= 0) return std::vector<Job>{};
  // One statement, so one round trip and its own transaction: pick (skipping rows other
  // claimers hold), mark running with the lease and the kind's deadline, and move the
  // operations of the claimed jobs to running.
  auto r = conn_->exec(
      "claim jobs",
      "WITH picked AS (SELECT id FROM jobs WHERE state = 'available' AND queue = $1 AND "
      "run_at <= $2 AND (node_id IS NULL OR node_id IN "
      "(SELECT jsonb_array_elements_text($3::jsonb))) ORDER BY run_at, id LIMIT $4 "
      "FOR UPDATE SKIP LOCKED), "
      "claimed AS (UPDATE jobs j SET state = 'running', attempt = j.attempt + 1, "
      "lease_owner = $5, lease_expires_at = $6, started_at = $2, updated_at = $2, "
      "deadline_at = $2 + coalesce(($7::jsonb ->> j.kind)::bigint, $8) "
      "FROM picked WHERE j.id = picked.id "
      "RETURNING j.id, j.queue, j.kind, j.operation_id, j.node_id, j.payload, j.state, j.attempt, "
      "j.failures, j.max_attempts, j.run_at, j.lease_owner, j.lease_expires_at, j.started_at, "
      "j.deadline_at, j.last_error, j.created_at, j.updated_at, j.finished_at), "
      "ops AS (UPDATE operations o SET state = 'running', attempts = c.attempt, error = NULL, "
      "deadline_at = c.deadline_at, updated_at = $2 FROM claimed c WHERE o.id = c.operation_id "
      "AND o.state IN ('queued', 'waiting', 'running')) "
      "SELECT " ZLH_JOB_COLUMNS " FROM claimed",
      {toString(req.queue), ms(now), nodeListJson(req.node_ids), req.limit, req.owner,
       ms(now + req.lease), runTimeoutsJson(req), static_cast<int64_t>(req.run_timeout.count())});
  if (!r) return r.error();
  std::vector<Job> out;
  for (int i = 0; i < r->size(); ++i) out.push_back(readJob(RowRef{*r, i}));
  std::sort(out.begin(), out.end(), [](const Job& a, const Job& b) {
    return a.run_at != b.run_at ? a.run_at < b.run_at : a.id < b.id;
  });
  return out;
}

Result<std::vector<std::string>> PgStore::heartbeatJobs(const std::vector<Fence>& held,
                                                        std::chrono::milliseconds lease, Time now) {
  std::vector<std::string> lost;
  if (held.empty()) return lost;
  Transaction tx(*conn_);
  if (!tx.begin()) return tx.begin().error().withContext("heartbeat jobs");
  for (const auto& f : held) {
    auto r = conn_->exec("heartbeat jobs",
                         "UPDATE jobs SET lease_expires_at = $4, updated_at = $5" ZLH_PG_FENCE,
                         {f.job_id, f.attempt, f.owner, ms(now + lease), ms(now)});
    if (!r) return r.error();
    if (r->affected() == 0) lost.push_back(f.job_id);
  }
  if (auto st = tx.commit("heartbeat jobs"); !st) return st.error();
  return lost;
}

Result<FenceResult> PgStore::retryJob(const Fence& f, const proto::Error& error, Time run_at,
                                      Time now) {
  Transaction tx(*conn_);
  if (!tx.begin()) return tx.begin().error().withContext("retry job");
  auto r =
      conn_->exec("retry job",
                  "UPDATE jobs SET state = 'available', failures = failures + 1, run_at = $4, "
                  "lease_owner = NULL, lease_expires_at = NULL, last_error = $5, "
                  "updated_at = $6" ZLH_PG_FENCE " RETURNING operation_id",
                  {f.job_id, f.attempt, f.owner, ms(run_at), columns::errorText(error), ms(now)});
  if (!r) return r.error();
  if (r->empty()) return FenceResult::kLost;
  if (auto op = r->optText(0, 0))
    if (auto st = setOperationState(*op, OperationState::kQueued, error, now); !st)
      return st.error();
  if (auto st = tx.commit("retry job"); !st) return st.error();
  return FenceResult::kApplied;
}

Result<FenceResult> PgStore::releaseJob(const Fence& f, const proto::Error& why, Time now) {
  Transaction tx(*conn_);
  if (!tx.begin()) return tx.begin().error().withContext("release job");
  auto r = conn_->exec("release job",
                       "UPDATE jobs SET state = 'available', run_at = $4, lease_owner = NULL, "
                       "lease_expires_at = NULL, last_error = $5, updated_at = $4" ZLH_PG_FENCE
                       " RETURNING operation_id",
                       {f.job_id, f.attempt, f.owner, ms(now), columns::errorText(why)});
  if (!r) return r.error();
  if (r->empty()) return FenceResult::kLost;
  if (auto op = r->optText(0, 0))
    if (auto st = setOperationState(*op, OperationState::kWaiting, why, now); !st)
      return st.error();
  if (auto st = tx.commit("release job"); !st) return st.error();
  return FenceResult::kApplied;
}

Result<std::vector<FenceResult>> PgStore::completeJobs(const std::vector<JobCompletion>& jobs,
                                                      Time now) {
  if (auto st = checkCompletions(jobs); !st) return st.error();
  std::vector<FenceResult> out;
  if (jobs.empty()) return out;
  // One job with nothing to apply to an operation: the one statement is the transaction (one
  // round trip instead of three).
  std::optional<Transaction> tx;
  if (jobs.size() > 1 || jobs.front().outcome) {
    tx.emplace(*conn_);
    if (!tx->begin()) return tx->begin().error().withContext("complete job");
  }
  for (const auto& c : jobs) {
    const Fence& f = c.fence;
    auto r = conn_->exec(
        "complete job",
        "UPDATE jobs SET state = $4, lease_owner = NULL, lease_expires_at = NULL, "
        "last_error = coalesce($5, last_error), finished_at = $6, "
        "updated_at = $6" ZLH_PG_FENCE " RETURNING operation_id",
        {f.job_id, f.attempt, f.owner, toString(c.state), columns::errorText(c.error), ms(now)});
    if (!r) return r.error();
    if (r->empty()) {
      out.push_back(FenceResult::kLost);
      continue;
    }
    if (auto op = r->optText(0, 0); op && c.outcome)
      if (auto done = finishOperationInTx(*op, *c.outcome, now); !done) return done.error();
    out.push_back(FenceResult::kApplied);
  }
  if (tx)
    if (auto st = tx->commit("complete job"); !st) return st.error();
  return out;
}

Result<Operation> PgStore::cancelOperation(const std::string& operation_id,
                                           const OperationOutcome& outcome, Time now) {
  Transaction tx(*conn_);
  if (!tx.begin()) return tx.begin().error().withContext("cancel operation");
  auto op = getOperation(operation_id);
  if (!op) return op.error();
  if (isFinal(op->state))
    return makeError(ErrorCode::kFailedPrecondition, "operation " + operation_id + " is already " +
                                                         std::string(toString(op->state)));
  // A concurrent claim holds the row: this UPDATE waits for it, then finds it running.
  auto r = conn_->exec("cancel operation",
                       "UPDATE jobs SET state = 'cancelled', finished_at = $1, updated_at = $1 "
                       "WHERE operation_id = $2 AND state = 'available'",
                       {ms(now), operation_id});
  if (!r) return r.error();
  if (r->affected() == 0)
    return makeError(ErrorCode::kConflict, "operation " + operation_id +
                                               " is running on its node and cannot be cancelled");
  OperationOutcome o = outcome;
  o.state = OperationState::kCancelled;
  if (auto done = finishOperationInTx(operation_id, o, now); !done) return done.error();
  if (auto st = tx.commit("cancel operation"); !st) return st.error();
  return getOperation(operation_id);
}

Result<SweepResult> PgStore::sweepExpiredLeases(Time now) {
  Transaction tx(*conn_);
  if (!tx.begin()) return tx.begin().error().withContext("sweep leases");
  // SKIP LOCKED: a row a worker is completing right now is left to that worker.
  auto r = conn_->exec("sweep leases",
                       "SELECT " ZLH_JOB_COLUMNS
                       " FROM jobs WHERE state = 'running' AND "
                       "lease_expires_at < $1 ORDER BY id FOR UPDATE SKIP LOCKED",
                       {ms(now)});
  if (!r) return r.error();
  SweepResult out;
  for (int i = 0; i < r->size(); ++i) {
    Job j = readJob(RowRef{*r, i});
    if (j.failures + 1 >= j.max_attempts) {
      out.exhausted.push_back(std::move(j));
      continue;
    }
    auto err = leaseExpired(j);
    Fence f = fenceOf(j);
    auto u = conn_->exec("sweep leases",
                         "UPDATE jobs SET state = 'available', failures = failures + 1, "
                         "run_at = $4, lease_owner = NULL, lease_expires_at = NULL, "
                         "last_error = $5, updated_at = $4" ZLH_PG_FENCE,
                         {f.job_id, f.attempt, f.owner, ms(now), columns::errorText(err)});
    if (!u) return u.error();
    if (j.operation_id)
      if (auto st = setOperationState(*j.operation_id, OperationState::kQueued, err, now); !st)
        return st.error();
    markReturned(j, err, now);
    out.returned.push_back(std::move(j));
  }
  if (auto st = tx.commit("sweep leases"); !st) return st.error();
  return out;
}

Result<int64_t> PgStore::markWaitingOperations(Time now) {
  Transaction tx(*conn_);
  if (!tx.begin()) return tx.begin().error().withContext("mark waiting");
  auto r = conn_->exec(
      "mark waiting",
      "SELECT o.id, o.state, j.node_id, n.id IS NOT NULL, coalesce(n.link_expires_at > $1, false) "
      "FROM jobs j JOIN operations o ON o.id = j.operation_id LEFT JOIN nodes n ON n.id = "
      "j.node_id "
      "WHERE j.state = 'available' AND j.node_id IS NOT NULL AND "
      "o.state IN ('queued', 'waiting') FOR UPDATE OF o SKIP LOCKED",
      {ms(now)});
  if (!r) return r.error();
  int64_t changed = 0;
  for (int i = 0; i < r->size(); ++i) {
    auto to = waitingTransition(r->text(i, 1), r->text(i, 2), r->boolean(i, 3), r->boolean(i, 4));
    if (!to) continue;
    if (auto st = setOperationState(r->text(i, 0), to->first, to->second, now); !st)
      return st.error();
    ++changed;
  }
  if (auto st = tx.commit("mark waiting"); !st) return st.error();
  return changed;
}

Result<std::vector<QueueStats>> PgStore::queueStats(Time now) {
  std::vector<QueueStats> out = emptyQueueStats();
  auto r = conn_->exec(
      "queue stats",
      "SELECT queue, 'available', count(*), min(CASE WHEN run_at <= $1 THEN run_at END), 0 "
      "FROM jobs WHERE state = 'available' GROUP BY queue UNION ALL "
      "SELECT queue, 'running', count(*), min(started_at), "
      "sum(CASE WHEN deadline_at < $1 THEN 1 ELSE 0 END) FROM jobs WHERE state = 'running' "
      "GROUP BY queue UNION ALL SELECT queue, state, count(*), NULL, 0 FROM jobs "
      "WHERE state IN ('succeeded', 'failed', 'cancelled') GROUP BY queue, state",
      {ms(now)});
  if (!r) return r.error();
  for (int i = 0; i < r->size(); ++i) addQueueStatsRow(out, RowRef{*r, i});
  return out;
}

Result<int64_t> PgStore::pruneFinishedJobs(Time before, Time now) {
  Transaction tx(*conn_);
  if (!tx.begin()) return tx.begin().error().withContext("prune jobs");
  auto r = conn_->exec("prune jobs",
                       "DELETE FROM jobs WHERE state IN ('succeeded', 'failed', 'cancelled') AND "
                       "finished_at < $1",
                       {ms(before)});
  if (!r) return r.error();
  auto k =
      conn_->exec("prune idempotency keys", "DELETE FROM idempotency_keys WHERE created_at < $1",
                  {ms(now) - kIdempotencyRetentionMs});
  if (!k) return k.error();
  if (auto st = tx.commit("prune jobs"); !st) return st.error();
  return r->affected();
}

Status PgStore::holdNodeLinks(const std::string& owner, const std::vector<std::string>& node_ids,
                              Time expires) {
  if (node_ids.empty()) return {};
  // Rows locked in id order, as placement locks them: the two never wait on each other in a
  // cycle (a deadlock PostgreSQL would break by failing one of them).
  auto r = conn_->exec("hold node links",
                       "WITH locked AS (SELECT id FROM nodes WHERE id IN "
                       "(SELECT jsonb_array_elements_text($3::jsonb)) ORDER BY id FOR UPDATE) "
                       "UPDATE nodes n SET link_owner = $1, link_expires_at = $2 FROM locked "
                       "WHERE n.id = locked.id",
                       {owner, ms(expires), nodeListJson(node_ids)});
  if (!r) return r.error();
  return {};
}

Result<RetiredLeases> PgStore::retirePredecessors(const std::string& identity,
                                                  const std::string& owner, Time now) {
  const std::string prefix = leaseOwnerPrefix(identity);
  const auto len = static_cast<int64_t>(prefix.size());
  Transaction tx(*conn_);
  if (!tx.begin()) return tx.begin().error().withContext("retire earlier runs");
  RetiredLeases out;
  // Node rows locked in id order, as everywhere else. substr, not LIKE: the identity may hold
  // LIKE's wildcards.
  auto l = conn_->exec("retire earlier runs",
                       "WITH locked AS (SELECT id FROM nodes WHERE substr(link_owner, 1, $1::int) "
                       "= $2 AND link_owner <> $3 ORDER BY id FOR UPDATE) "
                       "UPDATE nodes n SET link_owner = NULL, link_expires_at = NULL FROM locked "
                       "WHERE n.id = locked.id",
                       {len, prefix, owner});
  if (!l) return l.error();
  out.links = l->affected();
  auto j = conn_->exec("retire earlier runs",
                       "UPDATE jobs SET lease_expires_at = $4 WHERE state = 'running' AND "
                       "substr(lease_owner, 1, $1::int) = $2 AND lease_owner <> $3 AND "
                       "lease_expires_at > $4",
                       {len, prefix, owner, ms(now) - 1});
  if (!j) return j.error();
  out.jobs = j->affected();
  if (auto st = tx.commit("retire earlier runs"); !st) return st.error();
  return out;
}

Status PgStore::releaseNodeLink(const std::string& node_id, const std::string& owner) {
  auto r = conn_->exec("release node link",
                       "UPDATE nodes SET link_owner = NULL, link_expires_at = NULL WHERE id = $1 "
                       "AND link_owner = $2",
                       {node_id, owner});
  if (!r) return r.error();
  return {};
}

}  // namespace zlh::coordinator::store
