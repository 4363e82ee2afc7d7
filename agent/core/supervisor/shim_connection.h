#pragma once
// One non-blocking connection to a shim's unix socket on the core loop (Asio stays in the .cpp).
// Frames in both directions use the zlh_shim_protocol codec. Loop thread only.
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "agent/core/loop/event_loop.h"
#include "agent/sdk/result.h"
#include "agent/shim/shim_protocol.h"

namespace zlh::agent::core {

class ShimConnection {
 public:
  struct Handlers {
    std::function<void(shim::Frame frame)> on_frame;
    /// The connection ended (EOF, error, bad frame). Called at most once, never after close().
    std::function<void(const std::string& why)> on_closed;
  };
  /// Bytes waiting to be written beyond which send() refuses (Unavailable).
  static constexpr size_t kMaxWriteBacklog = 4 << 20;

  virtual ~ShimConnection() = default;
  /// Connects, then reads until closed. `done` runs once with the outcome; on failure
  /// on_closed is not called.
  virtual void connect(const std::filesystem::path& socket,
                       std::function<void(sdk::Status)> done) = 0;
  /// Queues a frame (also while connecting). Unavailable when closed or the backlog is full.
  virtual sdk::Status send(shim::FrameType type, std::string_view payload = {}) = 0;
  /// Closes now: no callback after this returns.
  virtual void close() = 0;
  virtual bool isOpen() const = 0;
};

/// `read_buffer_bytes`: per-read buffer (small for control connections, 64 KiB for output).
std::shared_ptr<ShimConnection> makeShimConnection(EventLoop& loop,
                                                   ShimConnection::Handlers handlers,
                                                   size_t read_buffer_bytes = 64 * 1024);

}  // namespace zlh::agent::core
