#pragma once
// Agent reports applied to instances (docs/lifecycle.md "Events"):
//   instance.state        -> state, when its state_version is not lower than the stored one
//   instance.ready        -> state "ready", same rule
//   instance.crashed      -> recorded with its exit record (the state comes with instance.state)
//   instance.unresponsive -> the flag, same rule
// Applied events are recorded in instance_events; stale ones are dropped. An event about an
// instance that is not on the sending node is ignored (logged): a node speaks for its own
// instances only. hello's inventory corrects each known instance the same way; an instance the
// coordinator does not know is logged and left alone. Then the node's operations are sent.
// Logic thread.
#include <string>

#include "coordinator/gateway/agent_event_sink.h"
#include "coordinator/instances/dispatcher.h"
#include "coordinator/store/store.h"

namespace zlh::coordinator::instances {

/// An event body above this size is stored as {"instance_id","state_version","truncated":true}.
inline constexpr size_t kMaxEventBodyBytes = 64 * 1024;

class AgentEvents final : public gateway::AgentEventSink {
 public:
  AgentEvents(store::Store& store, Dispatcher& dispatcher)
      : store_(store), dispatcher_(dispatcher) {}

  void onNodeReady(const std::string& node_id, const proto::Hello& hello) override;
  void onNodeGone(const std::string& node_id) override { dispatcher_.onNodeGone(node_id); }
  void onAgentEvent(const std::string& node_id, const proto::Envelope& event) override;

 private:
  void reconcile(const std::string& node_id, const std::vector<proto::InstanceSummary>& inventory);
  void apply(const std::string& type, const store::Observation& observation);

  store::Store& store_;
  Dispatcher& dispatcher_;
};

}  // namespace zlh::coordinator::instances
