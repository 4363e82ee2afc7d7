#pragma once
// Instances, operations, idempotency keys and instance events as the store keeps them
// (ARCHITECTURE.md sections 5-6). Engine-neutral: no SQL types here.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "coordinator/common/time_format.h"
#include "coordinator/store/placement_types.h"
#include "proto/v1/error.h"

namespace zlh::coordinator::store {

using common::Time;

enum class OperationKind { kInstanceCreate, kInstanceDelete, kInstancePower };
std::string_view toString(OperationKind kind);
std::optional<OperationKind> parseOperationKind(std::string_view text);
const std::vector<OperationKind>& allOperationKinds();

enum class OperationState { kQueued, kWaiting, kRunning, kSucceeded, kFailed, kStale, kCancelled };
std::string_view toString(OperationState state);
std::optional<OperationState> parseOperationState(std::string_view text);
const std::vector<OperationState>& allOperationStates();
/// queued, waiting and running are unfinished; the rest are final.
bool isFinal(OperationState state);

/// The state of an instance before its agent has reported anything.
inline constexpr std::string_view kStateProvisioning = "provisioning";
/// The state the API shows while desired_state is "deleted".
inline constexpr std::string_view kStateDeleting = "deleting";

struct Instance {
  std::string id;  // in_...
  std::string name;
  std::string owner_id;  // usr_...
  std::string template_name;
  std::string node_id;
  std::string state = std::string(kStateProvisioning);  // observed (agent) state
  std::string desired_state = "running";                // running | stopped | deleted
  bool unresponsive = false;
  std::optional<std::string> address;  // "host:port"
  uint64_t state_version = 0;
  nlohmann::json params = nlohmann::json::object();
  nlohmann::json env = nlohmann::json::object();
  nlohmann::json resources = nlohmann::json::object();
  Time created_at;
  Time updated_at;

  /// What the API shows: "deleting" while desired_state is "deleted", else `state`.
  std::string publicState() const {
    return desired_state == "deleted" ? std::string(kStateDeleting) : state;
  }
};

struct Operation {
  std::string id;  // op_...
  OperationKind kind = OperationKind::kInstanceCreate;
  OperationState state = OperationState::kQueued;
  std::string instance_id;
  std::string user_id;   // who asked
  std::string node_id;   // where its job goes
  int64_t attempts = 0;  // jobs sent so far
  std::optional<proto::Error> error;
  nlohmann::json params = nlohmann::json::object();
  Time created_at;
  Time updated_at;
  /// Set when its job is claimed: running past it, the operation is overdue.
  std::optional<Time> deadline;

  bool overdue(Time now) const {
    return state == OperationState::kRunning && deadline && *deadline < now;
  }
};

/// Unfinished operations of one (kind, state): how many, and when the oldest was requested.
/// What /metrics and /healthz report as the backlog until durable queues arrive.
struct OperationBacklog {
  OperationKind kind = OperationKind::kInstanceCreate;
  OperationState state = OperationState::kQueued;  // queued, waiting or running
  int64_t count = 0;
  Time oldest_created_at;
};

/// An instance and its create operation, written in one transaction.
struct NewInstance {
  std::string name;
  std::string owner_id;
  std::string template_name;
  std::string node_id;  // where it goes when there is no placement; else the one chosen
  /// The store chooses node_id in its transaction, reserving capacity (docs/placement.md).
  std::optional<Placement> placement;
  std::string desired_state = "running";
  nlohmann::json params = nlohmann::json::object();
  nlohmann::json env = nlohmann::json::object();
  nlohmann::json resources = nlohmann::json::object();
  std::string requested_by;  // the operation's user
  nlohmann::json operation_params = nlohmann::json::object();
};

/// A new operation as every engine inserts it: a fresh "op_" id, queued, both timestamps `at`.
Operation queuedOperation(OperationKind kind, const std::string& instance_id,
                          const std::string& user_id, const std::string& node_id,
                          const nlohmann::json& params, Time at);

/// The instance record a create writes (a fresh "in_" id, both timestamps `now`): the same for
/// every engine.
Instance instanceRecord(const NewInstance& in, Time now);

/// The Idempotency-Key of a request: unique per (user_id, key).
struct IdempotencyClaim {
  std::string user_id;
  std::string key;
  std::string request_hash;  // SHA-256 hex of the canonical JSON body
};

struct IdempotencyRecord {
  std::string user_id;
  std::string key;
  std::string request_hash;
  std::string operation_id;
  std::string instance_id;
  Time created_at;
};

/// Idempotency keys are kept at least this long (docs/api.md).
inline constexpr int64_t kIdempotencyRetentionMs = 24LL * 3600 * 1000;

/// Either what was created, or the record already holding the key (nothing was written).
struct CreateOutcome {
  std::optional<Instance> instance;
  std::optional<Operation> operation;
  std::optional<IdempotencyRecord> existing;
};

/// An operation on an existing instance (delete, power), written with its desired state.
struct NewOperation {
  OperationKind kind = OperationKind::kInstancePower;
  std::string instance_id;
  std::string user_id;
  nlohmann::json params = nlohmann::json::object();
  std::string desired_state;  // applied to the instance in the same transaction
};

struct InstanceEvent {
  std::string type;  // instance.state, instance.ready, instance.crashed, instance.unresponsive
  Time at;
  nlohmann::json body = nlohmann::json::object();
};

/// Instance events kept per instance (older ones are removed as new ones arrive).
inline constexpr int64_t kMaxEventsPerInstance = 500;

/// What an agent said about one of its instances. Applied only when `state_version` is not lower
/// than the stored one and the instance is on `node_id`; the event is recorded when applied.
struct Observation {
  std::string instance_id;
  std::string node_id;
  uint64_t state_version = 0;
  std::optional<std::string> state;
  std::optional<bool> unresponsive;
  bool set_address = false;
  std::optional<std::string> address;
  std::optional<InstanceEvent> event;
  /// The instance stopped by itself (a `stop` typed into its console): when it was up (starting,
  /// running, ready) and wanted running, its desired state becomes `stopped`, so nothing restarts
  /// what its owner stopped. A stop the platform asked for passes through `stopping` and is
  /// already desired `stopped`.
  bool stopped_by_itself = false;
};

/// How an operation ended and what that does to its instance, applied once in one transaction.
struct OperationOutcome {
  OperationState state = OperationState::kSucceeded;  // succeeded | failed
  std::optional<proto::Error> error;
  std::optional<Observation> observe;        // the instance the job reported (version-checked)
  std::optional<std::string> force_state;    // e.g. "failed" after a failed create
  std::optional<std::string> desired_state;  // e.g. restored after a failed delete
  bool delete_instance = false;              // a confirmed delete
};

}  // namespace zlh::coordinator::store
