#pragma once
// What the gateway tells the rest of the coordinator about agents: a link became ready (with the
// agent's hello, including its instance inventory), and events an agent sent. Logic thread.
#include <string>

#include "proto/v1/codec.h"

namespace zlh::coordinator::gateway {

class AgentEventSink {
 public:
  virtual ~AgentEventSink() = default;
  /// The node's link completed hello and `welcome` was sent: jobs can be sent to it now.
  virtual void onNodeReady(const std::string& node_id, const proto::Hello& hello) = 0;
  /// The node's ready link closed (and no newer one replaced it).
  virtual void onNodeGone(const std::string& node_id) = 0;
  /// An event (`instance.*`, `backup.finished`) from a ready link of `node_id`. The codec has
  /// checked the body's shape against the type.
  virtual void onAgentEvent(const std::string& node_id, const proto::Envelope& event) = 0;
};

}  // namespace zlh::coordinator::gateway
