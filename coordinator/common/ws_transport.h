#pragma once
// The sending side of the network module's WebSockets as the logic thread sees it: agent links
// (gateway) and consoles (console bridge) both talk through it. Implemented over net::Server in
// main; tests record. Calls for a connection that has gone away are no-ops.
#include <cstdint>
#include <string>

namespace zlh::coordinator::common {

class WsTransport {
 public:
  virtual ~WsTransport() = default;
  virtual void sendText(uint64_t conn, std::string text) = 0;
  virtual void sendBinary(uint64_t conn, std::string bytes) = 0;
  /// Sends a close frame with `code` after what is already queued, then closes.
  virtual void close(uint64_t conn, uint16_t code, std::string reason) = 0;
};

}  // namespace zlh::coordinator::common
