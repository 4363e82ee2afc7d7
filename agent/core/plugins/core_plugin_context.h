#pragma once
// The core's PluginContext: one per plugin, everything routed to the agent's loop, pool, log and
// link.
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "agent/core/loop/event_loop.h"
#include "agent/sdk/plugin_context.h"

namespace zlh::agent::core {

/// What every plugin context shares.
struct ContextEnv {
  EventLoop* loop = nullptr;
  std::string node_id;
  std::string agent_version;
  /// Validates and queues an event toward the coordinator. Thread-safe.
  std::function<sdk::Status(const std::string& type, nlohmann::json body)> emit;
  /// The agent's instance registry and supervisor (null only in tests that do not need them:
  /// then instances()/supervisor() throw, which the plugin host reports as a plugin failure).
  sdk::InstanceRegistry* instances = nullptr;
  sdk::Supervisor* supervisor = nullptr;
  std::filesystem::path state_root;
};

class CorePluginContext : public sdk::PluginContext {
 public:
  CorePluginContext(const std::string& plugin, std::filesystem::path state_dir,
                    const ContextEnv& env);

  const sdk::Logger& log() const override { return logger_; }
  const std::filesystem::path& stateDir() const override { return state_dir_; }
  const std::string& agentVersion() const override { return env_.agent_version; }
  const std::string& nodeId() const override { return env_.node_id; }
  sdk::Status emitEvent(const std::string& type, nlohmann::json body) override;
  void post(sdk::Task fn) override { env_.loop->post(std::move(fn)); }
  sdk::TimerPtr after(std::chrono::milliseconds delay, sdk::Task fn) override {
    return env_.loop->after(delay, std::move(fn));
  }
  void runBlocking(sdk::Task fn) override { env_.loop->runBlocking(std::move(fn)); }
  sdk::InstanceRegistry& instances() override;
  sdk::Supervisor& supervisor() override;
  const std::filesystem::path& stateRoot() const override { return env_.state_root; }

 private:
  const ContextEnv& env_;
  std::filesystem::path state_dir_;
  sdk::Logger logger_;
};

}  // namespace zlh::agent::core
