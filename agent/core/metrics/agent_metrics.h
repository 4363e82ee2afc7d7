#pragma once
// The agent's own metrics (names are public: ARCHITECTURE.md / the tests). Updated and rendered
// on the core loop only, so plain counters suffice.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>

#include "agent/sdk/metrics_writer.h"

namespace zlh::agent::core {

enum class DialResult { kOk, kRefused, kError };
enum class JobOutcome { kOk, kError, kRedelivered };

class AgentMetrics {
 public:
  explicit AgentMetrics(std::string version);
  ~AgentMetrics();
  AgentMetrics(const AgentMetrics&) = delete;
  AgentMetrics& operator=(const AgentMetrics&) = delete;

  void setLinkUp(bool up) { link_up_ = up; }
  void countDial(DialResult r) { ++dials_[int(r)]; }
  /// A welcomed link was lost (not counted when the agent stops).
  void countLinkLost() { ++links_lost_; }
  void countJob(const std::string& plugin, const std::string& kind, JobOutcome outcome);
  void observeJobDuration(const std::string& kind, std::chrono::duration<double> d);
  void setPluginUp(const std::string& plugin, bool up) { plugin_up_[plugin] = up; }
  void countPluginFailure(const std::string& plugin) { ++plugin_failures_[plugin]; }
  void countEventDropped() { ++events_dropped_; }

  uint64_t dials(DialResult r) const { return dials_[int(r)]; }
  uint64_t pluginFailures(const std::string& plugin) const;
  uint64_t jobs(const std::string& plugin, const std::string& kind, JobOutcome outcome) const;
  uint64_t eventsDropped() const { return events_dropped_; }
  uint64_t linksLost() const { return links_lost_; }

  /// Writes the agent's families (not the plugins'; not the scrape duration), with the standard
  /// process_* families of the agent process (CPU, resident memory, start time).
  void write(sdk::MetricsWriter& out) const;

 private:
  std::string version_;
  bool link_up_ = false;
  uint64_t dials_[3] = {0, 0, 0};
  std::map<std::tuple<std::string, std::string, int>, uint64_t> jobs_;
  std::map<std::string, std::unique_ptr<sdk::Histogram>> durations_;
  std::map<std::string, bool> plugin_up_;
  std::map<std::string, uint64_t> plugin_failures_;
  uint64_t events_dropped_ = 0;
  uint64_t links_lost_ = 0;
  double start_time_ = 0;  // process start, seconds since the epoch
  mutable int statm_fd_ = -1;  // /proc/self/statm, opened at the first scrape
};

}  // namespace zlh::agent::core
