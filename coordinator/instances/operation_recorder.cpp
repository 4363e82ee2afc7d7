#include "coordinator/instances/operation_recorder.h"

#include <spdlog/spdlog.h>

#include "coordinator/instances/states.h"

namespace zlh::coordinator::instances {
namespace {
using store::OperationKind;
using store::OperationState;

std::optional<store::Observation> reportedInstance(const store::Operation& op,
                                                   const nlohmann::json& result) {
  if (!result.is_object() || !result.contains("instance")) return std::nullopt;
  auto view = parseInstanceView(result["instance"]);
  if (!view) {
    spdlog::warn("operation {}: the agent's result has no readable instance view", op.id);
    return std::nullopt;
  }
  if (view->id != op.instance_id) {
    spdlog::warn("operation {}: the agent reported instance {} instead of {}", op.id,
                 view->id.substr(0, 64), op.instance_id);
    return std::nullopt;
  }
  return observationOf(*view, op.node_id);
}
}  // namespace

store::OperationOutcome operationOutcome(const store::Operation& op,
                                         const proto::Result<gateway::JobOutcome>& out) {
  store::OperationOutcome o;
  if (out) {
    o.state = OperationState::kSucceeded;
    if (op.kind == OperationKind::kInstanceDelete)
      o.delete_instance = true;
    else
      o.observe = reportedInstance(op, out->result);
    return o;
  }
  o.state = OperationState::kFailed;
  o.error = out.error();
  if (op.kind == OperationKind::kInstanceCreate) {
    o.force_state = "failed";
  } else if (op.kind == OperationKind::kInstanceDelete) {
    auto prev = op.params.find("previous_desired_state");
    o.desired_state =
        prev != op.params.end() && prev->is_string() ? prev->get<std::string>() : "running";
  }
  return o;
}

}  // namespace zlh::coordinator::instances
