#pragma once
// Creates, starts and stops the enabled plugins and is the only caller of their methods. A
// plugin that fails to create or start, or throws from start(), is marked `failed`, counted in
// zlh_agent_plugin_failures_total and logged; the agent keeps running. No exception leaves here:
// a throw from handleJob() becomes an `internal` error (and is counted), a throw from
// collectMetrics() is counted and skipped. Loop thread only.
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agent/core/metrics/agent_metrics.h"
#include "agent/core/plugins/core_plugin_context.h"
#include "agent/sdk/plugin_factory.h"
#include "agent/sdk/streams.h"
#include "proto/v1/messages.h"

namespace zlh::agent::core {

enum class PluginState { kCreated, kRunning, kFailed, kStopped };
std::string_view toString(PluginState s);

class PluginHost {
 public:
  PluginHost(AgentMetrics& metrics, ContextEnv env, std::filesystem::path state_root);
  ~PluginHost();

  /// Creates the plugin from its factory and validated config (state dir <root>/<name>, 0700).
  void add(const sdk::PluginFactory& factory, const sdk::ConfigValues& config);
  void startAll();
  void stopAll();

  std::vector<proto::PluginInfo> infos() const;
  std::map<std::string, std::string> states() const;
  bool allRunning() const;
  /// Name of the plugin that owns `kind`, or nullptr.
  const std::string* ownerOf(const std::string& kind) const;
  bool isRunning(const std::string& plugin) const;
  /// Hands a job to a plugin. An error when the plugin threw (the reply is then void).
  sdk::Status dispatch(const std::string& plugin, const sdk::Job& job, sdk::JobReply reply);
  void collectMetrics(sdk::MetricsWriter& out);
  /// Opens a stream with the running plugin serving `request.kind` (Unimplemented when none
  /// does; Internal when it threw).
  sdk::Result<std::unique_ptr<sdk::StreamHandler>> openStream(
      const sdk::StreamRequest& request, std::shared_ptr<sdk::StreamChannel> channel);

 private:
  struct Slot {
    std::string name;
    std::unique_ptr<CorePluginContext> context;
    std::unique_ptr<sdk::Plugin> plugin;
    PluginState state = PluginState::kCreated;
    std::vector<std::string> kinds;
    sdk::StreamProvider* streams = nullptr;  // the plugin, when it serves streams
  };
  Slot* find(const std::string& name);
  void fail(Slot& slot, const std::string& what);
  void claimKinds(Slot& slot);

  AgentMetrics& metrics_;
  ContextEnv env_;
  std::filesystem::path state_root_;
  std::vector<Slot> slots_;
  std::map<std::string, std::string> kind_owner_;
  std::map<std::string, std::string> stream_owner_;  // stream kind -> plugin
};

}  // namespace zlh::agent::core
