#pragma once
// Turns the answer to an operation's job into the operation's final state and its effect on the
// instance, applied once (store::Store::finishOperation fences on the operation's state):
//   create ok     -> succeeded; the reported instance (state, version, address) is applied
//   create error  -> failed with the agent's error; the instance's state becomes "failed"
//   delete ok     -> succeeded; the instance row (and its events) is removed
//   delete error  -> failed; the desired state from before the delete is restored
//   power ok      -> succeeded; the reported instance is applied
//   power error   -> failed with the agent's error
// Shared by every Dispatcher. Logic thread.
#include "coordinator/gateway/node_links.h"
#include "coordinator/store/store.h"

namespace zlh::coordinator::instances {

class OperationRecorder {
 public:
  explicit OperationRecorder(store::Store& store) : store_(store) {}

  /// Records the outcome. A store failure is logged and leaves the operation unfinished, so it
  /// is sent again later and the agent answers from its record.
  void finish(const store::Operation& op, const proto::Result<gateway::JobOutcome>& outcome);

  /// The outcome without writing it (tests, and the dispatcher's logs).
  static store::OperationOutcome outcomeOf(const store::Operation& op,
                                           const proto::Result<gateway::JobOutcome>& outcome);

 private:
  store::Store& store_;
};

}  // namespace zlh::coordinator::instances
