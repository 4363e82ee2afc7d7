// SqliteStore: job queues (queue_types.h). Writers are serialised by BEGIN IMMEDIATE, so a claim
// is one UPDATE ... RETURNING over the oldest claimable rows; every worker write is fenced by
// (state running, attempt, lease owner) in its WHERE clause.
#include <algorithm>

#include "coordinator/common/tokens.h"
#include "coordinator/store/queue_rows.h"
#include "coordinator/store/sqlite_rows.h"
#include "coordinator/store/sqlite_store.h"

namespace zlh::coordinator::store {
namespace {
using proto::ErrorCode;
using proto::makeError;
using sqlite::Stmt;
using sqlite::WriteTransaction;

constexpr const char* kFence =
    " WHERE id = ? AND state = 'running' AND attempt = ? AND lease_owner = ?";

int64_t ms(Time t) { return common::toUnixMs(t); }

/// Binds a Fence to the three parameters of kFence starting at `first`.
void bindFence(Stmt& s, int first, const Fence& f) {
  s.bind(first, f.job_id).bind(first + 1, f.attempt).bind(first + 2, f.owner);
}

std::string nodeListJson(const std::vector<std::string>& ids) { return nlohmann::json(ids).dump(); }
}  // namespace

Result<std::optional<Job>> SqliteStore::selectJob(const char* where, const std::string& key) {
  Stmt s(db_, std::string("SELECT " ZLH_JOB_COLUMNS " FROM jobs WHERE ") + where);
  s.bind(1, key);
  int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<Job>{};
  if (rc != SQLITE_ROW) return sqlite::toError(db_, rc, "get job");
  return std::optional<Job>{readJob(s)};
}

Result<Job> SqliteStore::getJob(const std::string& id) {
  auto j = selectJob("id = ?", id);
  if (!j) return j.error();
  if (!*j) return makeError(ErrorCode::kNotFound, "job " + id + " not found");
  return std::move(**j);
}

Result<Job> SqliteStore::getJobOfOperation(const std::string& operation_id) {
  auto j = selectJob("operation_id = ?", operation_id);
  if (!j) return j.error();
  if (!*j) return makeError(ErrorCode::kNotFound, "operation " + operation_id + " has no job");
  return std::move(**j);
}

Result<Job> SqliteStore::enqueueJob(const NewJob& in, Time now) {
  // One statement, in a transaction all the same: writes of this process wait their turn in
  // the WriterQueue (sqlite_db.h) instead of polling for SQLite's lock.
  WriteTransaction tx(db_, *writers_);
  if (tx.beginStatus() != SQLITE_OK) return sqlite::toError(db_, tx.beginStatus(), "enqueue job");
  Stmt s(db_,
         "INSERT INTO jobs (id, queue, kind, node_id, payload, state, max_attempts, run_at, "
         "created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'available', ?, ?, ?, ?) "
         "RETURNING " ZLH_JOB_COLUMNS);
  s.bind(1, common::newId("jb_")).bind(2, toString(in.queue)).bind(3, in.kind);
  s.bindOpt(4, in.node_id).bind(5, columns::dumpJson(in.payload)).bind(6, in.max_attempts);
  s.bind(7, ms(in.run_at.value_or(now))).bind(8, ms(now)).bind(9, ms(now));
  int rc = s.step();
  if (rc != SQLITE_ROW) return sqlite::toError(db_, rc, "enqueue job");
  Job j = readJob(s);
  if ((rc = s.step()) != SQLITE_DONE) return sqlite::toError(db_, rc, "enqueue job");
  if ((rc = tx.commit()) != SQLITE_OK) return sqlite::toError(db_, rc, "enqueue job");
  return j;
}

Status SqliteStore::setOperationState(const std::string& id, OperationState state,
                                      const std::optional<proto::Error>& error, Time now) {
  Stmt s(db_,
         "UPDATE operations SET state = ?, error = ?, updated_at = ? WHERE id = ? AND "
         "state IN ('queued', 'waiting', 'running')");
  s.bind(1, toString(state)).bindOpt(2, columns::errorText(error)).bind(3, ms(now)).bind(4, id);
  if (int rc = s.step(); rc != SQLITE_DONE) return sqlite::toError(db_, rc, "update operation");
  return {};
}

Result<std::vector<Job>> SqliteStore::claimJobs(const ClaimRequest& req, Time now) {
  if (req.limit <= 0) return std::vector<Job>{};
  WriteTransaction tx(db_, *writers_);
  if (tx.beginStatus() != SQLITE_OK) return sqlite::toError(db_, tx.beginStatus(), "claim jobs");
  // The kind's deadline in the same statement (run timeouts by kind as JSON, as PostgreSQL's).
  Stmt s(db_,
         "UPDATE jobs SET state = 'running', attempt = attempt + 1, lease_owner = ?1, "
         "lease_expires_at = ?2, started_at = ?3, updated_at = ?3, deadline_at = ?3 + "
         "coalesce((SELECT value FROM json_each(?7) WHERE key = jobs.kind), ?8) WHERE id IN ("
         "SELECT id FROM jobs WHERE state = 'available' AND queue = ?4 AND run_at <= ?3 AND "
         "(node_id IS NULL OR node_id IN (SELECT value FROM json_each(?5))) "
         "ORDER BY run_at, id LIMIT ?6) RETURNING " ZLH_JOB_COLUMNS);
  s.bind(1, req.owner).bind(2, ms(now + req.lease)).bind(3, ms(now));
  s.bind(4, toString(req.queue)).bind(5, nodeListJson(req.node_ids)).bind(6, req.limit);
  s.bind(7, runTimeoutsJson(req)).bind(8, static_cast<int64_t>(req.run_timeout.count()));
  std::vector<Job> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(readJob(s));
  if (rc != SQLITE_DONE) return sqlite::toError(db_, rc, "claim jobs");
  std::sort(out.begin(), out.end(), [](const Job& a, const Job& b) {
    return a.run_at != b.run_at ? a.run_at < b.run_at : a.id < b.id;
  });
  for (auto& j : out) {
    if (!j.operation_id) continue;
    Stmt o(db_,
           "UPDATE operations SET state = 'running', attempts = ?, error = NULL, deadline_at = ?, "
           "updated_at = ? WHERE id = ? AND state IN ('queued', 'waiting', 'running')");
    o.bind(1, j.attempt).bind(2, ms(*j.deadline_at)).bind(3, ms(now)).bind(4, *j.operation_id);
    if ((rc = o.step()) != SQLITE_DONE) return sqlite::toError(db_, rc, "claim jobs");
  }
  if ((rc = tx.commit()) != SQLITE_OK) return sqlite::toError(db_, rc, "claim jobs");
  return out;
}

Result<std::vector<std::string>> SqliteStore::heartbeatJobs(const std::vector<Fence>& held,
                                                            std::chrono::milliseconds lease,
                                                            Time now) {
  std::vector<std::string> lost;
  if (held.empty()) return lost;
  WriteTransaction tx(db_, *writers_);
  if (tx.beginStatus() != SQLITE_OK)
    return sqlite::toError(db_, tx.beginStatus(), "heartbeat jobs");
  for (const auto& f : held) {
    Stmt s(db_, std::string("UPDATE jobs SET lease_expires_at = ?, updated_at = ?") + kFence);
    s.bind(1, ms(now + lease)).bind(2, ms(now));
    bindFence(s, 3, f);
    if (int rc = s.step(); rc != SQLITE_DONE) return sqlite::toError(db_, rc, "heartbeat jobs");
    if (sqlite3_changes(db_) == 0) lost.push_back(f.job_id);
  }
  if (int rc = tx.commit(); rc != SQLITE_OK) return sqlite::toError(db_, rc, "heartbeat jobs");
  return lost;
}

Result<FenceResult> SqliteStore::retryJob(const Fence& fence, const proto::Error& error,
                                          Time run_at, Time now) {
  WriteTransaction tx(db_, *writers_);
  if (tx.beginStatus() != SQLITE_OK) return sqlite::toError(db_, tx.beginStatus(), "retry job");
  Stmt s(db_, std::string("UPDATE jobs SET state = 'available', failures = failures + 1, "
                          "run_at = ?, lease_owner = NULL, lease_expires_at = NULL, "
                          "last_error = ?, updated_at = ?") +
                  kFence + " RETURNING operation_id");
  s.bind(1, ms(run_at)).bindOpt(2, columns::errorText(error)).bind(3, ms(now));
  bindFence(s, 4, fence);
  int rc = s.step();
  if (rc == SQLITE_DONE) return FenceResult::kLost;
  if (rc != SQLITE_ROW) return sqlite::toError(db_, rc, "retry job");
  auto op = s.optText(0);
  if ((rc = s.step()) != SQLITE_DONE) return sqlite::toError(db_, rc, "retry job");
  if (op)
    if (auto st = setOperationState(*op, OperationState::kQueued, error, now); !st)
      return st.error();
  if ((rc = tx.commit()) != SQLITE_OK) return sqlite::toError(db_, rc, "retry job");
  return FenceResult::kApplied;
}

Result<FenceResult> SqliteStore::releaseJob(const Fence& fence, const proto::Error& why, Time now) {
  WriteTransaction tx(db_, *writers_);
  if (tx.beginStatus() != SQLITE_OK) return sqlite::toError(db_, tx.beginStatus(), "release job");
  Stmt s(db_, std::string("UPDATE jobs SET state = 'available', run_at = ?, lease_owner = NULL, "
                          "lease_expires_at = NULL, last_error = ?, updated_at = ?") +
                  kFence + " RETURNING operation_id");
  s.bind(1, ms(now)).bindOpt(2, columns::errorText(why)).bind(3, ms(now));
  bindFence(s, 4, fence);
  int rc = s.step();
  if (rc == SQLITE_DONE) return FenceResult::kLost;
  if (rc != SQLITE_ROW) return sqlite::toError(db_, rc, "release job");
  auto op = s.optText(0);
  if ((rc = s.step()) != SQLITE_DONE) return sqlite::toError(db_, rc, "release job");
  if (op)
    if (auto st = setOperationState(*op, OperationState::kWaiting, why, now); !st)
      return st.error();
  if ((rc = tx.commit()) != SQLITE_OK) return sqlite::toError(db_, rc, "release job");
  return FenceResult::kApplied;
}

Result<std::vector<FenceResult>> SqliteStore::completeJobs(const std::vector<JobCompletion>& jobs,
                                                          Time now) {
  if (auto st = checkCompletions(jobs); !st) return st.error();
  std::vector<FenceResult> out;
  if (jobs.empty()) return out;
  WriteTransaction tx(db_, *writers_);
  if (tx.beginStatus() != SQLITE_OK) return sqlite::toError(db_, tx.beginStatus(), "complete job");
  Stmt s(db_, std::string("UPDATE jobs SET state = ?, lease_owner = NULL, lease_expires_at = NULL, "
                          "last_error = coalesce(?, last_error), finished_at = ?, updated_at = ?") +
                  kFence + " RETURNING operation_id");
  for (const auto& c : jobs) {
    s.reset().bind(1, toString(c.state)).bindOpt(2, columns::errorText(c.error)).bind(3, ms(now));
    s.bind(4, ms(now));
    bindFence(s, 5, c.fence);
    int rc = s.step();
    if (rc == SQLITE_DONE) {
      out.push_back(FenceResult::kLost);
      continue;
    }
    if (rc != SQLITE_ROW) return sqlite::toError(db_, rc, "complete job");
    auto op = s.optText(0);
    if ((rc = s.step()) != SQLITE_DONE) return sqlite::toError(db_, rc, "complete job");
    if (op && c.outcome)
      if (auto done = finishOperationInTx(*op, *c.outcome, now); !done) return done.error();
    out.push_back(FenceResult::kApplied);
  }
  if (int rc = tx.commit(); rc != SQLITE_OK) return sqlite::toError(db_, rc, "complete job");
  return out;
}

Result<Operation> SqliteStore::cancelOperation(const std::string& operation_id,
                                               const OperationOutcome& outcome, Time now) {
  WriteTransaction tx(db_, *writers_);
  if (tx.beginStatus() != SQLITE_OK)
    return sqlite::toError(db_, tx.beginStatus(), "cancel operation");
  auto op = getOperation(operation_id);
  if (!op) return op.error();
  if (isFinal(op->state))
    return makeError(ErrorCode::kFailedPrecondition, "operation " + operation_id + " is already " +
                                                         std::string(toString(op->state)));
  Stmt s(db_,
         "UPDATE jobs SET state = 'cancelled', finished_at = ?, updated_at = ? "
         "WHERE operation_id = ? AND state = 'available'");
  s.bind(1, ms(now)).bind(2, ms(now)).bind(3, operation_id);
  int rc = s.step();
  if (rc != SQLITE_DONE) return sqlite::toError(db_, rc, "cancel operation");
  if (sqlite3_changes(db_) == 0)
    return makeError(ErrorCode::kConflict, "operation " + operation_id +
                                               " is running on its node and cannot be cancelled");
  OperationOutcome o = outcome;
  o.state = OperationState::kCancelled;
  auto done = finishOperationInTx(operation_id, o, now);
  if (!done) return done.error();
  if ((rc = tx.commit()) != SQLITE_OK) return sqlite::toError(db_, rc, "cancel operation");
  return getOperation(operation_id);
}

Result<SweepResult> SqliteStore::sweepExpiredLeases(Time now) {
  WriteTransaction tx(db_, *writers_);
  if (tx.beginStatus() != SQLITE_OK) return sqlite::toError(db_, tx.beginStatus(), "sweep leases");
  Stmt q(db_, "SELECT " ZLH_JOB_COLUMNS
              " FROM jobs WHERE state = 'running' AND lease_expires_at < ? ORDER BY id");
  q.bind(1, ms(now));
  std::vector<Job> expired;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) expired.push_back(readJob(q));
  if (rc != SQLITE_DONE) return sqlite::toError(db_, rc, "sweep leases");
  SweepResult out;
  for (auto& j : expired) {
    if (j.failures + 1 >= j.max_attempts) {
      out.exhausted.push_back(std::move(j));
      continue;
    }
    auto err = leaseExpired(j);
    Stmt s(db_, std::string("UPDATE jobs SET state = 'available', failures = failures + 1, "
                            "run_at = ?, lease_owner = NULL, lease_expires_at = NULL, "
                            "last_error = ?, updated_at = ?") +
                    kFence);
    s.bind(1, ms(now)).bindOpt(2, columns::errorText(err)).bind(3, ms(now));
    bindFence(s, 4, fenceOf(j));
    if ((rc = s.step()) != SQLITE_DONE) return sqlite::toError(db_, rc, "sweep leases");
    if (j.operation_id)
      if (auto st = setOperationState(*j.operation_id, OperationState::kQueued, err, now); !st)
        return st.error();
    markReturned(j, err, now);
    out.returned.push_back(std::move(j));
  }
  if ((rc = tx.commit()) != SQLITE_OK) return sqlite::toError(db_, rc, "sweep leases");
  return out;
}

Result<int64_t> SqliteStore::markWaitingOperations(Time now) {
  WriteTransaction tx(db_, *writers_);
  if (tx.beginStatus() != SQLITE_OK) return sqlite::toError(db_, tx.beginStatus(), "mark waiting");
  // Available jobs of unfinished operations, with whether their node exists and is linked.
  Stmt q(
      db_,
      "SELECT o.id, o.state, j.node_id, n.id IS NOT NULL, "
      "coalesce(n.link_expires_at > ?, 0) FROM jobs j JOIN operations o ON o.id = j.operation_id "
      "LEFT JOIN nodes n ON n.id = j.node_id WHERE j.state = 'available' AND "
      "j.node_id IS NOT NULL AND o.state IN ('queued', 'waiting')");
  q.bind(1, ms(now));
  struct Row {
    std::string op, state, node;
    bool exists, live;
  };
  std::vector<Row> rows;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW)
    rows.push_back({q.text(0), q.text(1), q.text(2), q.int64(3) != 0, q.int64(4) != 0});
  if (rc != SQLITE_DONE) return sqlite::toError(db_, rc, "mark waiting");
  int64_t changed = 0;
  for (const auto& r : rows) {
    auto to = waitingTransition(r.state, r.node, r.exists, r.live);
    if (!to) continue;
    if (auto st = setOperationState(r.op, to->first, to->second, now); !st) return st.error();
    ++changed;
  }
  if ((rc = tx.commit()) != SQLITE_OK) return sqlite::toError(db_, rc, "mark waiting");
  return changed;
}

Result<std::vector<QueueStats>> SqliteStore::queueStats(Time now) {
  std::vector<QueueStats> out = emptyQueueStats();
  // Unfinished rows through the partial indexes; finished ones are counted from their index too.
  Stmt s(db_,
         "SELECT queue, 'available', count(*), min(CASE WHEN run_at <= ? THEN run_at END), 0 "
         "FROM jobs WHERE state = 'available' GROUP BY queue UNION ALL "
         "SELECT queue, 'running', count(*), min(started_at), "
         "sum(CASE WHEN deadline_at < ? THEN 1 ELSE 0 END) FROM jobs WHERE state = 'running' "
         "GROUP BY queue UNION ALL SELECT queue, state, count(*), NULL, 0 FROM jobs "
         "WHERE state IN ('succeeded', 'failed', 'cancelled') GROUP BY queue, state");
  s.bind(1, ms(now)).bind(2, ms(now));
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) addQueueStatsRow(out, s);
  if (rc != SQLITE_DONE) return sqlite::toError(db_, rc, "queue stats");
  return out;
}

Result<int64_t> SqliteStore::pruneFinishedJobs(Time before, Time now) {
  WriteTransaction tx(db_, *writers_);
  if (tx.beginStatus() != SQLITE_OK) return sqlite::toError(db_, tx.beginStatus(), "prune jobs");
  Stmt s(db_,
         "DELETE FROM jobs WHERE state IN ('succeeded', 'failed', 'cancelled') AND "
         "finished_at < ?");
  s.bind(1, ms(before));
  int rc = s.step();
  if (rc != SQLITE_DONE) return sqlite::toError(db_, rc, "prune jobs");
  int64_t pruned = sqlite3_changes(db_);
  Stmt k(db_, "DELETE FROM idempotency_keys WHERE created_at < ?");
  k.bind(1, ms(now) - kIdempotencyRetentionMs);
  if ((rc = k.step()) != SQLITE_DONE) return sqlite::toError(db_, rc, "prune idempotency keys");
  if ((rc = tx.commit()) != SQLITE_OK) return sqlite::toError(db_, rc, "prune jobs");
  return pruned;
}

Status SqliteStore::holdNodeLinks(const std::string& owner,
                                  const std::vector<std::string>& node_ids, Time expires) {
  if (node_ids.empty()) return {};
  WriteTransaction tx(db_, *writers_);
  if (tx.beginStatus() != SQLITE_OK)
    return sqlite::toError(db_, tx.beginStatus(), "hold node links");
  Stmt s(db_,
         "UPDATE nodes SET link_owner = ?, link_expires_at = ? WHERE id IN "
         "(SELECT value FROM json_each(?))");
  s.bind(1, owner).bind(2, ms(expires)).bind(3, nodeListJson(node_ids));
  if (int rc = s.step(); rc != SQLITE_DONE) return sqlite::toError(db_, rc, "hold node links");
  if (int rc = tx.commit(); rc != SQLITE_OK) return sqlite::toError(db_, rc, "hold node links");
  return {};
}

Result<RetiredLeases> SqliteStore::retirePredecessors(const std::string& identity,
                                                      const std::string& owner, Time now) {
  const std::string prefix = leaseOwnerPrefix(identity);
  WriteTransaction tx(db_, *writers_);
  if (tx.beginStatus() != SQLITE_OK)
    return sqlite::toError(db_, tx.beginStatus(), "retire earlier runs");
  RetiredLeases out;
  // substr, not LIKE: the identity may hold LIKE's wildcards.
  Stmt l(db_,
         "UPDATE nodes SET link_owner = NULL, link_expires_at = NULL "
         "WHERE substr(link_owner, 1, ?1) = ?2 AND link_owner <> ?3");
  l.bind(1, static_cast<int64_t>(prefix.size())).bind(2, prefix).bind(3, owner);
  if (int rc = l.step(); rc != SQLITE_DONE) return sqlite::toError(db_, rc, "retire earlier runs");
  out.links = sqlite3_changes(db_);
  Stmt j(db_,
         "UPDATE jobs SET lease_expires_at = ?4 WHERE state = 'running' AND "
         "substr(lease_owner, 1, ?1) = ?2 AND lease_owner <> ?3 AND lease_expires_at > ?4");
  j.bind(1, static_cast<int64_t>(prefix.size())).bind(2, prefix).bind(3, owner).bind(4, ms(now) - 1);
  if (int rc = j.step(); rc != SQLITE_DONE) return sqlite::toError(db_, rc, "retire earlier runs");
  out.jobs = sqlite3_changes(db_);
  if (int rc = tx.commit(); rc != SQLITE_OK) return sqlite::toError(db_, rc, "retire earlier runs");
  return out;
}

Status SqliteStore::releaseNodeLink(const std::string& node_id, const std::string& owner) {
  WriteTransaction tx(db_, *writers_);
  if (tx.beginStatus() != SQLITE_OK)
    return sqlite::toError(db_, tx.beginStatus(), "release node link");
  Stmt s(db_,
         "UPDATE nodes SET link_owner = NULL, link_expires_at = NULL WHERE id = ? AND "
         "link_owner = ?");
  s.bind(1, node_id).bind(2, owner);
  if (int rc = s.step(); rc != SQLITE_DONE) return sqlite::toError(db_, rc, "release node link");
  if (int rc = tx.commit(); rc != SQLITE_OK) return sqlite::toError(db_, rc, "release node link");
  return {};
}

}  // namespace zlh::coordinator::store
