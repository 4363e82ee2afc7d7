#pragma once
// The `system` plugin: job `system.info` (host facts) and a run counter. Small on purpose: it is
// the reference plugin and the tests' probe of the job path (`runs` proves a redelivered job did
// not run twice).
#include <atomic>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "agent/sdk/plugin.h"
#include "agent/sdk/plugin_context.h"

namespace zlh::plugins::system {

inline constexpr const char* kInfoKind = "system.info";

class SystemPlugin : public agent::sdk::Plugin {
 public:
  explicit SystemPlugin(agent::sdk::PluginContext& ctx) : ctx_(ctx) {}

  agent::sdk::Status start() override;
  void stop() override;
  std::vector<std::string> jobKinds() const override { return {kInfoKind}; }
  void handleJob(const agent::sdk::Job& job, agent::sdk::JobReply reply) override;
  void collectMetrics(agent::sdk::MetricsWriter& out) override;

 private:
  agent::sdk::Result<nlohmann::json> info();

  agent::sdk::PluginContext& ctx_;
  std::atomic<uint64_t> runs_{0};
};

/// Host facts, read fresh on every call (blocking: reads /proc).
struct HostFacts {
  std::string hostname;
  std::string kernel;
  uint32_t cpus = 0;
  uint64_t memory_bytes = 0;
};
agent::sdk::Result<HostFacts> readHostFacts();

}  // namespace zlh::plugins::system
