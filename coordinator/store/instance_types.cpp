#include "coordinator/store/instance_types.h"

#include "coordinator/common/tokens.h"

namespace zlh::coordinator::store {

std::string_view toString(OperationKind kind) {
  switch (kind) {
    case OperationKind::kInstanceCreate:
      return "instance.create";
    case OperationKind::kInstanceDelete:
      return "instance.delete";
    case OperationKind::kInstancePower:
      return "instance.power";
  }
  return "instance.create";
}

std::optional<OperationKind> parseOperationKind(std::string_view text) {
  for (auto k : allOperationKinds())
    if (toString(k) == text) return k;
  return std::nullopt;
}

const std::vector<OperationKind>& allOperationKinds() {
  static const std::vector<OperationKind> kinds{OperationKind::kInstanceCreate,
                                                OperationKind::kInstanceDelete,
                                                OperationKind::kInstancePower};
  return kinds;
}

std::string_view toString(OperationState state) {
  switch (state) {
    case OperationState::kQueued:
      return "queued";
    case OperationState::kWaiting:
      return "waiting";
    case OperationState::kRunning:
      return "running";
    case OperationState::kSucceeded:
      return "succeeded";
    case OperationState::kFailed:
      return "failed";
    case OperationState::kStale:
      return "stale";
    case OperationState::kCancelled:
      return "cancelled";
  }
  return "queued";
}

std::optional<OperationState> parseOperationState(std::string_view text) {
  for (auto s : allOperationStates())
    if (toString(s) == text) return s;
  return std::nullopt;
}

const std::vector<OperationState>& allOperationStates() {
  static const std::vector<OperationState> states{
      OperationState::kQueued,    OperationState::kWaiting, OperationState::kRunning,
      OperationState::kSucceeded, OperationState::kFailed,  OperationState::kStale,
      OperationState::kCancelled};
  return states;
}

bool isFinal(OperationState state) {
  return state != OperationState::kQueued && state != OperationState::kWaiting &&
         state != OperationState::kRunning;
}

Operation queuedOperation(OperationKind kind, const std::string& instance_id,
                          const std::string& user_id, const std::string& node_id,
                          const nlohmann::json& params, Time at) {
  Operation op;
  op.id = common::newId("op_");
  op.kind = kind;
  op.state = OperationState::kQueued;
  op.instance_id = instance_id;
  op.user_id = user_id;
  op.node_id = node_id;
  op.params = params;
  op.created_at = op.updated_at = at;
  return op;
}

Instance instanceRecord(const NewInstance& in, Time now) {
  Instance inst;
  inst.id = common::newId("in_");
  inst.name = in.name;
  inst.owner_id = in.owner_id;
  inst.template_name = in.template_name;
  inst.node_id = in.node_id;
  inst.desired_state = in.desired_state;
  inst.params = in.params;
  inst.env = in.env;
  inst.resources = in.resources;
  inst.created_at = inst.updated_at = now;
  return inst;
}

}  // namespace zlh::coordinator::store
