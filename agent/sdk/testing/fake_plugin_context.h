#pragma once
/// @file
/// A PluginContext for plugin unit tests: no threads, no network. Posted work, timers and
/// "blocking" work are queued and run when the test says so; events and log lines are recorded.
/// instances() and supervisor() are a FakeInstanceRegistry and a FakeSupervisor (see their
/// headers); the registry's `instance.state` events also land in events().
#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "agent/sdk/plugin_context.h"
#include "agent/sdk/testing/fake_instance_registry.h"
#include "agent/sdk/testing/fake_supervisor.h"

namespace zlh::agent::sdk::testing {

class FakePluginContext : public PluginContext {
 public:
  struct Event {
    std::string type;
    nlohmann::json body;
  };
  struct LogLine {
    LogLevel level;
    std::string text;
  };

  /// `state_root` (the agent state dir) defaults to a fresh directory under the system temp
  /// dir, removed on destruction; `state_dir` (the plugin's) defaults to
  /// <state_root>/plugins/<name>. Both are created if missing.
  explicit FakePluginContext(std::string plugin_name = "test", std::filesystem::path state_dir = {},
                             std::filesystem::path state_root = {});
  ~FakePluginContext() override;

  const Logger& log() const override { return logger_; }
  const std::filesystem::path& stateDir() const override { return state_dir_; }
  const std::string& agentVersion() const override { return agent_version_; }
  const std::string& nodeId() const override { return node_id_; }
  Status emitEvent(const std::string& type, nlohmann::json body) override;
  void post(Task fn) override;
  TimerPtr after(std::chrono::milliseconds delay, Task fn) override;
  void runBlocking(Task fn) override;
  InstanceRegistry& instances() override { return *registry_; }
  Supervisor& supervisor() override { return *supervisor_; }
  const std::filesystem::path& stateRoot() const override { return state_root_; }

  // --- fakes behind instances() and supervisor() ---
  FakeInstanceRegistry& fakeInstances() { return *registry_; }
  FakeSupervisor& fakeSupervisor() { return *supervisor_; }

  // --- test controls ---
  /// Runs posted and blocking work until none is left (work may queue more). Returns how many ran.
  size_t runPending();
  /// Moves the fake clock forward, firing due timers (and the work they queue).
  void advance(std::chrono::milliseconds by);
  std::vector<Event> events() const;
  std::vector<LogLine> logLines() const;
  /// Makes emitEvent fail with this error (to test a plugin's handling).
  void failEvents(std::optional<Error> error) { event_error_ = std::move(error); }
  void setNodeId(std::string id) { node_id_ = std::move(id); }
  void setAgentVersion(std::string v) { agent_version_ = std::move(v); }

 private:
  struct TimerState {
    std::chrono::milliseconds due;
    Task fn;
    bool cancelled = false;
  };
  class FakeTimer;

  std::string plugin_name_;
  std::filesystem::path state_dir_;
  std::filesystem::path state_root_;
  bool owns_state_root_ = false;
  std::string agent_version_ = "0.0.0-test";
  std::string node_id_ = "nd_test";
  Logger logger_;
  mutable std::mutex mu_;
  std::deque<Task> work_;
  std::vector<std::shared_ptr<TimerState>> timers_;
  std::chrono::milliseconds now_{0};
  std::vector<Event> events_;
  std::vector<LogLine> log_lines_;
  std::optional<Error> event_error_;
  std::unique_ptr<FakeInstanceRegistry> registry_;
  std::unique_ptr<FakeSupervisor> supervisor_;
};

}  // namespace zlh::agent::sdk::testing
