#pragma once
// Gauges counted from the store when /metrics is scraped: zlh_operations{kind,state},
// zlh_operations_oldest_age_seconds{kind,state}, zlh_queue_jobs{queue,state},
// zlh_queue_oldest_job_age_seconds{queue,state}, zlh_queue_overdue_jobs{queue},
// zlh_instances{state} and zlh_nodes (every known label combination is exported, 0 when empty).
// Also the backlog summaries /healthz shows.
#include <cstdint>

#include "coordinator/common/metrics.h"
#include "coordinator/common/time_format.h"
#include "coordinator/store/store.h"

namespace zlh::coordinator::instances {

void refreshMetrics(store::Store& store, common::Metrics& metrics, common::Time now = common::now());

/// Unfinished operations (queued, waiting, running) in all, and the age of the oldest (0 when
/// there is none).
struct PendingOperations {
  int64_t pending = 0;
  double oldest_age_seconds = 0;
};
proto::Result<PendingOperations> pendingOperations(store::Store& store, common::Time now);

/// Per queue: available and running jobs, the oldest ages and the overdue count (/healthz).
proto::Result<nlohmann::json> queueHealth(store::Store& store, common::Time now);

}  // namespace zlh::coordinator::instances
