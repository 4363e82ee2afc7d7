#include "agent/core/metrics/agent_metrics.h"

namespace zlh::agent::core {
namespace {
const char* dialName(int r) { return r == 0 ? "ok" : r == 1 ? "refused" : "error"; }
const char* outcomeName(int o) { return o == 0 ? "ok" : o == 1 ? "error" : "redelivered"; }
}  // namespace

void AgentMetrics::countJob(const std::string& plugin, const std::string& kind,
                            JobOutcome outcome) {
  ++jobs_[{plugin, kind, int(outcome)}];
}

void AgentMetrics::observeJobDuration(const std::string& kind, std::chrono::duration<double> d) {
  auto& h = durations_[kind];
  if (!h) h = std::make_unique<sdk::Histogram>(sdk::defaultDurationBuckets());
  h->observe(d.count());
}

uint64_t AgentMetrics::pluginFailures(const std::string& plugin) const {
  auto it = plugin_failures_.find(plugin);
  return it == plugin_failures_.end() ? 0 : it->second;
}

uint64_t AgentMetrics::jobs(const std::string& plugin, const std::string& kind,
                            JobOutcome outcome) const {
  auto it = jobs_.find({plugin, kind, int(outcome)});
  return it == jobs_.end() ? 0 : it->second;
}

void AgentMetrics::write(sdk::MetricsWriter& out) const {
  out.gauge("zlh_agent_build_info", "Agent build; the value is always 1.", 1,
            {{"version", version_}});
  out.gauge("zlh_agent_link_up", "1 while the link to the coordinator is up (welcome received).",
            link_up_ ? 1 : 0);
  for (int r = 0; r < 3; ++r)
    out.counter("zlh_agent_link_dials_total", "Dial attempts by outcome.", double(dials_[r]),
                {{"result", dialName(r)}});
  for (const auto& [key, n] : jobs_) {
    const auto& [plugin, kind, outcome] = key;
    out.counter("zlh_agent_jobs_total", "Jobs answered, by plugin, kind and result.", double(n),
                {{"plugin", plugin}, {"kind", kind}, {"result", outcomeName(outcome)}});
  }
  for (const auto& [kind, h] : durations_)
    out.histogram("zlh_agent_job_duration_seconds", "Time from job.start to job.done.",
                  h->snapshot(), {{"kind", kind}});
  for (const auto& [plugin, up] : plugin_up_)
    out.gauge("zlh_agent_plugin_up", "1 while the plugin runs, 0 when it failed or stopped.",
              up ? 1 : 0, {{"plugin", plugin}});
  for (const auto& [plugin, up] : plugin_up_) {
    (void)up;
    out.counter("zlh_agent_plugin_failures_total",
                "Plugin failures: failed starts, exceptions in calls.",
                double(pluginFailures(plugin)), {{"plugin", plugin}});
  }
  out.counter("zlh_agent_events_dropped_total",
              "Events dropped because the offline queue was full.", double(events_dropped_));
}

}  // namespace zlh::agent::core
