#include "coordinator/instances/operation_jobs.h"

namespace zlh::coordinator::instances {

gateway::JobRequest jobFor(const store::Operation& op, const JobTimeouts& timeouts) {
  gateway::JobRequest req;
  req.node_id = op.node_id;
  req.job_id = op.id;
  req.instance_id = op.instance_id;
  req.timeout = timeouts.other;
  switch (op.kind) {
    case store::OperationKind::kInstanceCreate:
      req.kind = "lifecycle.create";
      req.params = op.params;
      req.timeout = timeouts.create;
      break;
    case store::OperationKind::kInstanceDelete:
      req.kind = "lifecycle.delete";
      break;
    case store::OperationKind::kInstancePower:
      req.kind = "lifecycle." + op.params.value("action", std::string("status"));
      break;
  }
  return req;
}

}  // namespace zlh::coordinator::instances
