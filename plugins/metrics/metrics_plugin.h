#pragma once
// The `metrics` plugin: node metrics under node_exporter's names (node_collectors.h) on the
// agent's /metrics. No jobs. Collection runs on the core loop during a scrape: it reads a dozen
// small /proc files and statfs()es the kept mounts (a few hundred microseconds).
#include "agent/sdk/config_schema.h"
#include "agent/sdk/plugin.h"
#include "agent/sdk/plugin_context.h"
#include "plugins/metrics/node_collectors.h"

namespace zlh::plugins::metrics {

class MetricsPlugin : public agent::sdk::Plugin {
 public:
  MetricsPlugin(agent::sdk::PluginContext& ctx, NodeConfig config)
      : ctx_(ctx), node_(std::move(config)) {}

  agent::sdk::Status start() override;
  void stop() override {}
  std::vector<std::string> jobKinds() const override { return {}; }
  void handleJob(const agent::sdk::Job& job, agent::sdk::JobReply reply) override;
  void collectMetrics(agent::sdk::MetricsWriter& out) override { node_.collect(out); }

 private:
  agent::sdk::PluginContext& ctx_;
  NodeCollectors node_;
};

agent::sdk::ConfigSchema metricsConfigSchema();
agent::sdk::Result<NodeConfig> metricsConfigFrom(const agent::sdk::ConfigValues& values);

}  // namespace zlh::plugins::metrics
