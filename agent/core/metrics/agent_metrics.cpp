#include "agent/core/metrics/agent_metrics.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdio>

namespace zlh::agent::core {
namespace {
const char* dialName(int r) { return r == 0 ? "ok" : r == 1 ? "refused" : "error"; }
const char* outcomeName(int o) { return o == 0 ? "ok" : o == 1 ? "error" : "redelivered"; }

// Resident bytes from /proc/self/statm (second field, pages): one small pread() of a descriptor
// kept open (procfs generates the file afresh at offset 0).
double residentBytes(int& fd) {
  char buf[128];
  if (fd < 0) fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return 0;
  buf[n] = '\0';
  unsigned long long size = 0, resident = 0;
  if (std::sscanf(buf, "%llu %llu", &size, &resident) != 2) return 0;
  return double(resident) * double(::sysconf(_SC_PAGESIZE));
}
}  // namespace

AgentMetrics::AgentMetrics(std::string version) : version_(std::move(version)) {
  timeval tv{};
  gettimeofday(&tv, nullptr);
  start_time_ = double(tv.tv_sec) + double(tv.tv_usec) / 1e6;  // close enough to exec time
}

AgentMetrics::~AgentMetrics() {
  if (statm_fd_ >= 0) ::close(statm_fd_);
}

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
  out.counter("zlh_agent_link_lost_total", "Welcomed links that were lost (the agent redials).",
              double(links_lost_));
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  const double cpu = double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                     double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  out.counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", cpu);
  out.gauge("process_resident_memory_bytes", "Resident memory size in bytes.", residentBytes(statm_fd_));
  out.gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
            start_time_);
}

}  // namespace zlh::agent::core
