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

store::OperationOutcome OperationRecorder::outcomeOf(
    const store::Operation& op, const proto::Result<gateway::JobOutcome>& out) {
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

void OperationRecorder::finish(const store::Operation& op,
                               const proto::Result<gateway::JobOutcome>& out) {
  auto outcome = outcomeOf(op, out);
  auto done = store_.finishOperation(op.id, outcome);
  if (!done) {
    spdlog::error("operation {} ({} of {}): recording its result failed: {}", op.id,
                  store::toString(op.kind), op.instance_id, done.error().message);
    return;
  }
  if (!*done) {
    spdlog::debug("operation {}: already finished, answer ignored", op.id);
    return;
  }
  if (out) {
    spdlog::info("operation {} ({} of {}) succeeded", op.id, store::toString(op.kind),
                 op.instance_id);
  } else {
    spdlog::info("operation {} ({} of {}) failed: {}: {}", op.id, store::toString(op.kind),
                 op.instance_id, proto::toWire(out.error().code), out.error().message);
  }
}

}  // namespace zlh::coordinator::instances
