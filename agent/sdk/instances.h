#pragma once
/// @file
/// The instance registry: the core owns the records, plugins read them and the lifecycle plugin
/// (the only writer of lifecycle transitions) changes them through explicit transitions checked
/// against one table (ARCHITECTURE.md section 3).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/sdk/result.h"

namespace zlh::agent::sdk {

/// Observed lifecycle state. `unresponsive` is a separate flag, not a state.
enum class InstanceState {
  kInstalling,
  kInstalled,
  kStarting,
  kRunning,
  kReady,
  kStopping,
  kStopped,
  kCrashed,
  kFailed,
};

/// Wire name ("installing", ...).
std::string_view toString(InstanceState state);
std::optional<InstanceState> instanceStateFromString(std::string_view name);
/// True when the transition table allows `from` -> `to` (the same table the registry enforces).
bool transitionAllowed(InstanceState from, InstanceState to);
/// True for the states with a live process meant to be running: starting, running, ready.
bool isUp(InstanceState state);
/// True for the states in which a process exists: the up ones and stopping. A dead shim in one
/// of them is an exit nobody saw; only these have process figures.
bool hasProcess(InstanceState state);
/// True for an id the registry accepts: [A-Za-z0-9_-]{1,64}.
bool validInstanceId(std::string_view id);

/// Persisted as <state.dir>/instances/<id>/instance.json.
struct InstanceRecord {
  std::string id;
  std::string template_name;
  InstanceState state = InstanceState::kInstalling;
  std::string desired_state = "running";  ///< "running" | "stopped" | "deleted"
  bool unresponsive = false;
  uint64_t state_version = 0;  ///< bumped on every change; events carry it
  std::string reason;          ///< why the last transition happened (human-readable)
  /// What the lifecycle plugin needs to (re)start it: resolved template, params, env, ports,
  /// resources. Owned by the lifecycle plugin; other plugins may read it.
  nlohmann::json spec = nlohmann::json::object();
  std::filesystem::path dir;       ///< <state.dir>/instances/<id>
  std::filesystem::path data_dir;  ///< dir/data: the instance's files (cwd of its process)
  std::string created_at;          ///< RFC 3339 UTC
  std::string updated_at;
};

/// Change notification: the record after the change and the state before it.
using InstanceListener = std::function<void(const InstanceRecord& now, InstanceState before)>;

/// Unsubscribes on destruction.
class Subscription {
 public:
  virtual ~Subscription() = default;
};
using SubscriptionPtr = std::unique_ptr<Subscription>;

/// All methods are called on the core loop (the thread plugins run on).
class InstanceRegistry {
 public:
  virtual ~InstanceRegistry() = default;

  virtual std::optional<InstanceRecord> get(const std::string& id) const = 0;
  virtual std::vector<InstanceRecord> list() const = 0;

  /// Creates the record (state `installing`, version 1, reason "created") and its dir and data
  /// dir (0700); sends `instance.state` and tells listeners (with before == installing).
  /// Conflict when the id exists; InvalidArgument for an id that is not [A-Za-z0-9_-]{1,64}.
  virtual Result<InstanceRecord> create(const std::string& id, const std::string& template_name,
                                        nlohmann::json spec) = 0;
  /// Moves to `to` if the table allows it (FailedPrecondition otherwise, naming both states),
  /// bumps the version, persists atomically, tells listeners and sends `instance.state` to the
  /// coordinator. A transition to the current state is allowed only where the table says so.
  virtual Result<InstanceRecord> transition(const std::string& id, InstanceState to,
                                            std::string reason) = 0;
  /// Changes non-state fields (spec, desired_state, unresponsive, reason); bumps the version,
  /// persists, tells listeners (before == the unchanged state); sends no event. `fn` must not
  /// change id, state, version, dirs or created_at (InvalidArgument, nothing changed).
  virtual Result<InstanceRecord> update(const std::string& id,
                                        const std::function<void(InstanceRecord&)>& fn) = 0;
  /// Deletes the record and its whole dir (renamed away at once, files deleted off the loop).
  /// No event, no listener call. NotFound when absent. Stop the process and call
  /// Supervisor::forget() first.
  virtual Status remove(const std::string& id) = 0;

  virtual SubscriptionPtr subscribe(InstanceListener listener) = 0;
};

}  // namespace zlh::agent::sdk
