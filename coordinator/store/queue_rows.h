#pragma once
// The jobs table's columns and their reader, shared by both engines (private to them). A row
// type needs text(col), int64(col), optText(col) and optInt64(col).
#include "coordinator/store/json_columns.h"
#include "coordinator/store/queue_types.h"

namespace zlh::coordinator::store {

#define ZLH_JOB_COLUMNS                                                                       \
  "id, queue, kind, operation_id, node_id, payload, state, attempt, failures, max_attempts, " \
  "run_at, lease_owner, lease_expires_at, started_at, deadline_at, last_error, created_at, "  \
  "updated_at, finished_at"

inline std::optional<Time> optTime(const std::optional<int64_t>& ms) {
  if (!ms) return std::nullopt;
  return common::fromUnixMs(*ms);
}

template <typename Row>
Job readJob(const Row& r) {
  Job j;
  j.id = r.text(0);
  j.queue = parseQueueName(r.text(1)).value_or(QueueName::kProvisioning);
  j.kind = r.text(2);
  j.operation_id = r.optText(3);
  j.node_id = r.optText(4);
  j.payload = columns::jsonColumn(r.text(5), nlohmann::json::object());
  j.state = parseJobState(r.text(6)).value_or(JobState::kFailed);
  j.attempt = r.int64(7);
  j.failures = r.int64(8);
  j.max_attempts = r.int64(9);
  j.run_at = common::fromUnixMs(r.int64(10));
  j.lease_owner = r.optText(11);
  j.lease_expires_at = optTime(r.optInt64(12));
  j.started_at = optTime(r.optInt64(13));
  j.deadline_at = optTime(r.optInt64(14));
  j.last_error = columns::errorColumn(r.optText(15));
  j.created_at = common::fromUnixMs(r.int64(16));
  j.updated_at = common::fromUnixMs(r.int64(17));
  j.finished_at = optTime(r.optInt64(18));
  return j;
}

/// Every queue with every state at 0: what queueStats fills in.
inline std::vector<QueueStats> emptyQueueStats() {
  std::vector<QueueStats> out;
  for (auto q : allQueueNames()) {
    QueueStats st;
    st.queue = q;
    for (auto s : allJobStates()) st.jobs[s] = 0;
    out.push_back(std::move(st));
  }
  return out;
}

/// One row of the queue stats query (both engines run the same one): queue, state, count,
/// oldest time (available: due; running: claimed), overdue count.
template <typename Row>
void addQueueStatsRow(std::vector<QueueStats>& out, const Row& r) {
  auto q = parseQueueName(r.text(0));
  auto state = parseJobState(r.text(1));
  if (!q || !state) return;
  QueueStats& st = out[static_cast<size_t>(*q)];
  st.jobs[*state] = r.int64(2);
  if (*state == JobState::kAvailable) st.oldest_available_at = optTime(r.optInt64(3));
  if (*state == JobState::kRunning) {
    st.oldest_running_since = optTime(r.optInt64(3));
    st.overdue = r.int64(4);
  }
}

}  // namespace zlh::coordinator::store
