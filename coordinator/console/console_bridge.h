#pragma once
// The browser console bridge (docs/api.md, "Console"): one WebSocket (`zlh.console.v1`) from a
// browser or zlhctl, one console stream on the agent link of the instance's node, bytes relayed
// both ways with flow control: the agent may send at most `output_window` bytes the browser's
// socket has not yet taken, so a slow browser holds a bounded amount here and slows only its own
// stream. Logic thread only.
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>

#include "coordinator/common/executor.h"
#include "coordinator/common/ws_transport.h"
#include "coordinator/console/tickets.h"
#include "coordinator/gateway/node_streams.h"
#include "coordinator/store/store.h"

namespace zlh::coordinator::console {

/// Close codes of the console WebSocket (ARCHITECTURE.md section 6, docs/api.md).
enum ConsoleClose : uint16_t {
  kConsoleNormal = 1000,        ///< the process exited (its last output was sent)
  kConsoleGoingAway = 1001,     ///< coordinator shutting down
  kConsoleInternal = 1011,
  kConsoleForbidden = 4003,
  kConsoleInstanceGone = 4004,
  kConsoleNotRunning = 4009,
  kConsoleAgentOffline = 4010,
  kConsoleIdle = 4011,
  kConsoleProtocol = 4400,      ///< a text frame, or a payload over 64 KiB
};

/// Client op answered by the coordinator itself (not sent to the agent): the page's keepalive, so it
/// can tell a silent connection from a quiet console. Answered with the text `{"type":"pong"}`.
inline constexpr uint8_t kOpPing = 0x02;

/// The browser side: console WebSockets of the network module.
using ConsoleTransport = common::WsTransport;

struct ConsoleOptions {
  std::chrono::seconds idle_timeout{1800};  ///< no input for this long: closed with 4011
  uint64_t output_window = 256 * 1024;      ///< agent output in flight toward one browser
  size_t max_pending_input = 256 * 1024;    ///< input waiting for the agent's credit
};

class ConsoleBridge {
 public:
  ConsoleBridge(store::Store& store, gateway::NodeStreams& streams, common::Executor& executor,
                ConsoleTransport& transport, ConsoleOptions options);
  ~ConsoleBridge();

  /// A WebSocket whose ticket was redeemed at the upgrade.
  void onOpen(uint64_t conn, const Ticket& ticket);
  void onMessage(uint64_t conn, const std::string& data, bool binary);
  /// The network wrote `bytes` of this console's output to the browser's socket.
  void onSent(uint64_t conn, size_t bytes);
  void onClosed(uint64_t conn);
  /// Closes every console with 1001.
  void shutdown();
  size_t sessions() const { return sessions_.size(); }
  bool owns(uint64_t conn) const { return sessions_.count(conn) != 0; }

 private:
  class Session;
  void end(uint64_t conn, uint16_t code, const std::string& reason, bool close_stream);
  void armIdle(Session& s);

  store::Store& store_;
  gateway::NodeStreams& streams_;
  common::Executor& executor_;
  ConsoleTransport& transport_;
  ConsoleOptions options_;
  std::map<uint64_t, std::unique_ptr<Session>> sessions_;
};

}  // namespace zlh::coordinator::console
