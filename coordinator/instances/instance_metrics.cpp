#include "coordinator/instances/instance_metrics.h"

#include <spdlog/spdlog.h>

#include "coordinator/instances/states.h"

namespace zlh::coordinator::instances {

void refreshMetrics(store::Store& store, common::Metrics& metrics) {
  if (auto ops = store.countOperations()) {
    std::map<std::vector<std::string>, double> series;
    for (auto k : store::allOperationKinds())
      for (auto s : store::allOperationStates())
        series[{std::string(store::toString(k)), std::string(store::toString(s))}] = 0;
    for (const auto& [key, n] : *ops) series[{key.first, key.second}] = static_cast<double>(n);
    metrics.setGaugeSeries("zlh_operations", std::move(series));
  } else {
    spdlog::warn("metrics: counting operations failed: {}", ops.error().message);
  }
  if (auto inst = store.countInstancesByState()) {
    std::map<std::vector<std::string>, double> series;
    for (const auto& s : publicStates()) series[{s}] = 0;
    for (const auto& [state, n] : *inst) series[{state}] = static_cast<double>(n);
    metrics.setGaugeSeries("zlh_instances", std::move(series));
  } else {
    spdlog::warn("metrics: counting instances failed: {}", inst.error().message);
  }
}

}  // namespace zlh::coordinator::instances
