#pragma once
// A small blocking client of a shim socket, for tests and tools (the agent core drives the same
// protocol from its own loop with FrameDecoder). Not thread-safe.
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "agent/shim/shim_protocol.h"

namespace zlh::agent::shim {

class ShimClient {
 public:
  /// Connects to the shim's unix socket. Unavailable when nothing listens there.
  static Result<ShimClient> connect(const std::string& socket_path);

  ShimClient(ShimClient&& other) noexcept;
  ShimClient& operator=(ShimClient&& other) noexcept;
  ShimClient(const ShimClient&) = delete;
  ShimClient& operator=(const ShimClient&) = delete;
  ~ShimClient();

  /// Sends one frame (blocking until written).
  Status send(FrameType type, std::string_view payload = {});
  /// Receives the next frame; DeadlineExceeded when none arrives in time, Unavailable when the
  /// shim closed the connection.
  Result<Frame> receive(std::chrono::milliseconds timeout);
  /// Receives frames until one of `type` arrives (others are discarded; an ERROR frame is
  /// returned as the error).
  Result<Frame> receiveUntil(FrameType type, std::chrono::milliseconds timeout);

  Status attach(bool replay = true) { return send(FrameType::kAttach, attachPayload(replay)); }
  Status input(std::string_view bytes) { return send(FrameType::kInput, bytes); }
  Status resize(uint16_t cols, uint16_t rows) {
    return send(FrameType::kResize, resizePayload(cols, rows));
  }
  Status signal(std::string_view name) { return send(FrameType::kSignal, signalPayload(name)); }
  Status detach() { return send(FrameType::kDetach); }
  /// Sends STATUS and waits for the reply (OUTPUT and other frames in between are discarded:
  /// use a connection that is not attached).
  Result<nlohmann::json> status(std::chrono::milliseconds timeout);

  int fd() const { return fd_; }
  void close();

 private:
  explicit ShimClient(int fd) : fd_(fd) {}
  int fd_ = -1;
  FrameDecoder decoder_;
};

}  // namespace zlh::agent::shim
