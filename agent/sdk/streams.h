#pragma once
/// @file
/// Streams over the agent link (ARCHITECTURE.md section 4; docs/protocol.md, "Streams"): a plugin
/// that serves stream kinds (the console, later file transfer) also inherits StreamProvider. The
/// core routes `stream.open` to it, carries binary frames both ways and applies credit-based flow
/// control, so one slow peer can neither stall the link nor grow the agent's memory.
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/sdk/result.h"

namespace zlh::agent::sdk {

/// Most bytes one stream may hold queued toward its peer (waiting for credit).
inline constexpr size_t kStreamQueueBytes = 256 * 1024;

struct StreamRequest {
  uint32_t stream_id = 0;
  std::string kind;         ///< "console", ...
  std::string instance_id;  ///< may be empty for kinds that need none
  nlohmann::json params = nlohmann::json::object();
};

/// The agent's end of one open stream. Core loop only; a provider keeps the shared_ptr as long as
/// it writes. After the stream ended (either side, or the link dropped) writes are ignored.
class StreamChannel {
 public:
  virtual ~StreamChannel() = default;
  /// Queues bytes toward the peer; they leave in frames as the peer's credit allows. False (and
  /// nothing queued) when the queue would pass kStreamQueueBytes or the stream has ended: the
  /// caller drops the bytes (and may say so in band).
  virtual bool write(std::string_view bytes) = 0;
  /// Bytes queued, not yet sent.
  virtual size_t queued() const = 0;
  /// The most bytes write() takes now: kStreamQueueBytes less what is queued.
  size_t room() const {
    const size_t q = queued();
    return q < kStreamQueueBytes ? kStreamQueueBytes - q : 0;
  }
  /// Ends the stream once every queued byte has left: `stream.close` (with `error` if any). The
  /// handler then gets no more calls.
  virtual void close(std::optional<Error> error = std::nullopt) = 0;
  virtual bool ended() const = 0;
};

/// What a provider returns for one opened stream. Called on the core loop.
class StreamHandler {
 public:
  virtual ~StreamHandler() = default;
  /// One binary frame's payload from the peer.
  virtual void onData(std::string_view bytes) = 0;
  /// The peer closed the stream or the link dropped. Last call; the channel is ended.
  virtual void onClosed() = 0;
  /// New credit emptied the channel's queue: room to write again (after a refused write).
  virtual void onWritable() {}
};

class StreamProvider {
 public:
  virtual ~StreamProvider() = default;
  /// Stream kinds served, e.g. {"console"}. Read once, after start().
  virtual std::vector<std::string> streamKinds() const = 0;
  /// Opens one stream. An error is sent back as `stream.close` with that error.
  virtual Result<std::unique_ptr<StreamHandler>> openStream(
      const StreamRequest& request, std::shared_ptr<StreamChannel> channel) = 0;
};

}  // namespace zlh::agent::sdk
