#pragma once
// How operations reach agents. The API writes an operation (queued) with its instance in one
// transaction and then hands it to the Dispatcher; the Dispatcher owns everything between that
// and OperationRecorder::finish(): sending, waiting for the node, re-sending. The thin
// DirectDispatcher sends over the gateway's job path; the durable queue (leases, retries,
// several coordinators) replaces it behind this interface without touching the API.
#include <string>

#include "coordinator/store/instance_types.h"

namespace zlh::coordinator::instances {

class Dispatcher {
 public:
  virtual ~Dispatcher() = default;
  /// A new operation was committed in state queued. Never blocks. Logic thread.
  virtual void submit(const store::Operation& op) = 0;
  /// At start: takes up every unfinished operation (queued, waiting, running).
  virtual void resume() = 0;
  /// The node's link completed hello: its unfinished operations are (re)sent.
  virtual void onNodeReady(const std::string& node_id) = 0;
};

}  // namespace zlh::coordinator::instances
