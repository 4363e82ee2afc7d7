#pragma once
// How operations reach agents. The API writes an operation (queued) and its job with its
// instance in one transaction and then tells the Dispatcher; the Dispatcher owns everything
// between that and the recorded outcome: claiming, sending, waiting for the node, retrying.
// QueueWorker (queue_worker.h) is the one implementation; tests use null ones.
#include <string>

#include "coordinator/store/instance_types.h"

namespace zlh::coordinator::instances {

class Dispatcher {
 public:
  virtual ~Dispatcher() = default;
  /// A new operation was committed in state queued. Never blocks. Logic thread.
  virtual void submit(const store::Operation& op) = 0;
  /// At start: begins taking up queued work (a previous run's included).
  virtual void resume() = 0;
  /// The node's link completed hello: its unfinished operations are (re)sent.
  virtual void onNodeReady(const std::string& node_id) = 0;
  /// The node's link closed.
  virtual void onNodeGone(const std::string& node_id) = 0;
};

}  // namespace zlh::coordinator::instances
