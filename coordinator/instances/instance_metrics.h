#pragma once
// zlh_operations{kind,state} and zlh_instances{state}, counted from the store when /metrics is
// scraped (every known label combination is exported, 0 when empty).
#include "coordinator/common/metrics.h"
#include "coordinator/store/store.h"

namespace zlh::coordinator::instances {

void refreshMetrics(store::Store& store, common::Metrics& metrics);

}  // namespace zlh::coordinator::instances
