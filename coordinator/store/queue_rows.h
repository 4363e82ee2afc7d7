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

}  // namespace zlh::coordinator::store
