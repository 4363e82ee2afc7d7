#include "coordinator/instances/instance_metrics.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "coordinator/instances/states.h"

namespace zlh::coordinator::instances {
namespace {
double ageSeconds(common::Time since, common::Time now) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - since).count();
  return std::max<int64_t>(ms, 0) / 1000.0;  // a clock step backwards is no negative age
}

void refreshOperations(store::Store& store, common::Metrics& metrics, common::Time now) {
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
  if (auto backlog = store.operationBacklog()) {
    std::map<std::vector<std::string>, double> series;
    for (auto k : store::allOperationKinds())
      for (auto s : store::allOperationStates())
        if (!store::isFinal(s))
          series[{std::string(store::toString(k)), std::string(store::toString(s))}] = 0;
    for (const auto& b : *backlog)
      series[{std::string(store::toString(b.kind)), std::string(store::toString(b.state))}] =
          ageSeconds(b.oldest_created_at, now);
    metrics.setGaugeSeries("zlh_operations_oldest_age_seconds", std::move(series));
  } else {
    spdlog::warn("metrics: reading the operation backlog failed: {}", backlog.error().message);
  }
}
void refreshQueues(store::Store& store, common::Metrics& metrics, common::Time now) {
  auto stats = store.queueStats(now);
  if (!stats) {
    spdlog::warn("metrics: reading the queues failed: {}", stats.error().message);
    return;
  }
  std::map<std::vector<std::string>, double> jobs, ages, overdue;
  for (const auto& q : *stats) {
    std::string name(store::toString(q.queue));
    for (const auto& [state, n] : q.jobs)
      jobs[{name, std::string(store::toString(state))}] = static_cast<double>(n);
    ages[{name, "available"}] = q.oldest_available_at ? ageSeconds(*q.oldest_available_at, now) : 0;
    ages[{name, "running"}] = q.oldest_running_since ? ageSeconds(*q.oldest_running_since, now) : 0;
    overdue[{name}] = static_cast<double>(q.overdue);
  }
  metrics.setGaugeSeries("zlh_queue_jobs", std::move(jobs));
  metrics.setGaugeSeries("zlh_queue_oldest_job_age_seconds", std::move(ages));
  metrics.setGaugeSeries("zlh_queue_overdue_jobs", std::move(overdue));
}
}  // namespace

proto::Result<nlohmann::json> queueHealth(store::Store& store, common::Time now) {
  auto stats = store.queueStats(now);
  if (!stats) return stats.error();
  nlohmann::json out = nlohmann::json::object();
  for (const auto& q : *stats) {
    out[std::string(store::toString(q.queue))] = {
        {"available", q.jobs.at(store::JobState::kAvailable)},
        {"running", q.jobs.at(store::JobState::kRunning)},
        {"oldest_available_age_seconds",
         q.oldest_available_at ? ageSeconds(*q.oldest_available_at, now) : 0},
        {"oldest_running_age_seconds",
         q.oldest_running_since ? ageSeconds(*q.oldest_running_since, now) : 0},
        {"overdue", q.overdue}};
  }
  return out;
}

void refreshMetrics(store::Store& store, common::Metrics& metrics, common::Time now) {
  refreshOperations(store, metrics, now);
  refreshQueues(store, metrics, now);
  if (auto inst = store.countInstancesByState()) {
    std::map<std::vector<std::string>, double> series;
    for (const auto& s : publicStates()) series[{s}] = 0;
    for (const auto& [state, n] : *inst) series[{state}] = static_cast<double>(n);
    metrics.setGaugeSeries("zlh_instances", std::move(series));
  } else {
    spdlog::warn("metrics: counting instances failed: {}", inst.error().message);
  }
  if (auto nodes = store.listNodes()) {
    metrics.setGaugeSeries("zlh_nodes", {{{}, static_cast<double>(nodes->size())}});
  } else {
    spdlog::warn("metrics: listing nodes failed: {}", nodes.error().message);
  }
}

proto::Result<PendingOperations> pendingOperations(store::Store& store, common::Time now) {
  auto backlog = store.operationBacklog();
  if (!backlog) return backlog.error();
  PendingOperations out;
  for (const auto& b : *backlog) {
    out.pending += b.count;
    out.oldest_age_seconds = std::max(out.oldest_age_seconds, ageSeconds(b.oldest_created_at, now));
  }
  return out;
}

}  // namespace zlh::coordinator::instances
