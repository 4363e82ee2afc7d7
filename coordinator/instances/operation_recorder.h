#pragma once
// Turns the answer to an operation's job into the operation's final state and its effect on the
// instance, applied once (with the job's fenced completion):
//   create ok     -> succeeded; the reported instance (state, version, address) is applied
//   create error  -> failed with the agent's error; the instance's state becomes "failed"
//   delete ok     -> succeeded; the instance row (and its events) is removed
//   delete error  -> failed; the desired state from before the delete is restored
//   power ok      -> succeeded; the reported instance is applied
//   power error   -> failed with the agent's error
#include "coordinator/gateway/node_links.h"
#include "coordinator/store/store.h"

namespace zlh::coordinator::instances {

/// The operation's outcome for its job's answer (or the failure given), applied by
/// store::Store::completeJob with the job's fenced completion.
store::OperationOutcome operationOutcome(const store::Operation& op,
                                         const proto::Result<gateway::JobOutcome>& answer);

}  // namespace zlh::coordinator::instances
