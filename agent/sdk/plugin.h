#pragma once
/// @file
/// The interface every plugin implements. A plugin links `zlh::agent::sdk` only; its one link to
/// the agent is the PluginContext it was created with.
#include <string>
#include <vector>

#include "agent/sdk/job.h"
#include "agent/sdk/metrics_writer.h"
#include "agent/sdk/result.h"

namespace zlh::agent::sdk {

/// A running plugin. Threading: the core calls every method on its event loop thread, one at a
/// time; a method must not block (use PluginContext::runBlocking for slow work). Exceptions are
/// caught by the core (a throw in start() marks the plugin `failed`, a throw in handleJob() answers
/// `internal`), but a plugin should return errors instead.
///
/// Optional capabilities are separate interfaces a plugin class may also inherit (the core finds
/// them with dynamic_cast), e.g. a stream provider for consoles and file transfer.
class Plugin {
 public:
  virtual ~Plugin() = default;

  /// Called once after creation. An error marks the plugin `failed`; the agent keeps running.
  virtual Status start() = 0;
  /// Called once at shutdown (also after a failed start). Cancel timers, finish quickly.
  virtual void stop() = 0;

  /// Job kinds this plugin handles, "<plugin>.<verb>". Read once, after start().
  virtual std::vector<std::string> jobKinds() const = 0;

  /// Runs one job. Answer through `reply` exactly once, now or later, from any thread.
  virtual void handleJob(const Job& job, JobReply reply) = 0;

  /// Adds the plugin's own metrics to a scrape (`zlh_<plugin>_...`). The core already exports
  /// per-plugin state, job counts and durations.
  virtual void collectMetrics(MetricsWriter& out) { (void)out; }
};

}  // namespace zlh::agent::sdk
