#pragma once
// Streams the coordinator opens on an agent link (docs/protocol.md, "Streams"): used by the
// console bridge, whose bytes the network module relays itself (net::Server::splice): here are
// the open, the close and what reaches the logic thread. Ids are odd (the coordinator's half),
// per link. Logic thread only.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "proto/v1/error.h"
#include "proto/v1/result.h"

namespace zlh::coordinator::gateway {

/// Receives one stream's traffic from the agent.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  /// Output bytes (one binary frame's payload).
  virtual void onStreamData(std::string_view payload) = 0;
  /// The agent accepts `bytes` more input bytes; the first credit also means "stream accepted".
  virtual void onStreamCredit(uint64_t bytes) = 0;
  /// The stream ended: closed by the agent (with its error, if any), or Unavailable when the link
  /// dropped. Last call for this stream.
  virtual void onStreamClosed(std::optional<proto::Error> error) = 0;
};

struct StreamHandle {
  uint64_t link = 0;
  uint32_t stream_id = 0;
};

struct StreamOpenRequest {
  std::string node_id;
  std::string kind;
  std::string instance_id;
  nlohmann::json params = nlohmann::json::object();
  uint64_t initial_credit = 0;  ///< output bytes the agent may send before our first grant
  /// Called with the new stream's handle just before stream.open is sent: whatever must be in
  /// place when the agent answers (the console's splice) is set up here.
  std::function<void(const StreamHandle&)> before_open;
};

class NodeStreams {
 public:
  virtual ~NodeStreams() = default;
  /// Sends stream.open on the node's ready link. Unavailable when the node has none.
  virtual proto::Result<StreamHandle> openStream(const StreamOpenRequest& request,
                                                 StreamSink* sink) = 0;
  /// Sends stream.close; the sink gets no further call.
  virtual void closeStream(const StreamHandle& stream) = 0;
};

}  // namespace zlh::coordinator::gateway
