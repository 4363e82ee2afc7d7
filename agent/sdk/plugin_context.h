#pragma once
/// @file
/// Everything a plugin may ask of the agent. The core owns the implementation; unit tests use
/// zlh::agent::sdk::testing::FakePluginContext.
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "agent/sdk/instances.h"
#include "agent/sdk/logger.h"
#include "agent/sdk/result.h"
#include "agent/sdk/supervisor.h"
#include "agent/sdk/task.h"

namespace zlh::agent::sdk {

/// A scheduled callback. Destroying the handle (or cancel()) cancels it if it has not run yet.
class TimerHandle {
 public:
  virtual ~TimerHandle() = default;
  virtual void cancel() = 0;
};
using TimerPtr = std::unique_ptr<TimerHandle>;

class PluginContext {
 public:
  virtual ~PluginContext() = default;

  /// Log lines prefixed with the plugin's name. Thread-safe.
  virtual const Logger& log() const = 0;
  /// The plugin's own directory under the agent's state dir (created, mode 0700).
  virtual const std::filesystem::path& stateDir() const = 0;
  virtual const std::string& agentVersion() const = 0;
  virtual const std::string& nodeId() const = 0;

  /// Sends an event (an agent -> coordinator message type of proto/v1, e.g. "instance.state")
  /// toward the coordinator. The body is checked against the type's shape; an invalid one is an
  /// error. While the link is down events are queued (bounded: the oldest are dropped and
  /// counted). Thread-safe.
  virtual Status emitEvent(const std::string& type, nlohmann::json body) = 0;

  /// Runs `fn` on the core loop. Thread-safe.
  virtual void post(Task fn) = 0;
  /// Runs `fn` once on the core loop after `delay`, unless the handle is cancelled first.
  /// Call from the core loop.
  virtual TimerPtr after(std::chrono::milliseconds delay, Task fn) = 0;
  /// Runs blocking work (disk, hashing, child processes) on the agent's bounded thread pool.
  /// Post results back with post(). Thread-safe.
  virtual void runBlocking(Task fn) = 0;

  /// The core's instance registry (read by every plugin; written by the lifecycle plugin).
  virtual InstanceRegistry& instances() = 0;
  /// The core's supervisor of per-instance shims.
  virtual Supervisor& supervisor() = 0;
  /// The agent's state dir (instances live in <stateRoot>/instances/<id>).
  virtual const std::filesystem::path& stateRoot() const = 0;
};

}  // namespace zlh::agent::sdk
