#pragma once
// The browser console bridge (docs/api.md, "Console"): one WebSocket (`zlh.console.v1`) from a
// browser or zlhctl, one console stream on the agent link of the instance's node. The bridge
// checks the ticket's instance, opens the stream and splices the two (net::Server::splice): the
// network thread then relays the bytes both ways with flow control (the agent may send at most
// `output_window` bytes the browser's socket has not yet taken, so a slow browser holds a bounded
// amount here and slows only its own stream). The bridge keeps the rest: input credit from the
// agent, keepalive pings, idle timeouts, close codes. Logic thread only.
#include <chrono>
#include <cstdint>
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

/// The browser side: console WebSockets of the network module, which relays their bytes to and
/// from their agent streams itself once spliced.
class ConsoleTransport : public common::WsTransport {
 public:
  /// Joins the console to its stream: its bytes cross on the network thread from now on.
  virtual void splice(uint64_t conn, const gateway::StreamHandle& stream,
                      uint64_t output_window) = 0;
  /// The agent accepts `bytes` more input on the console's stream.
  virtual void spliceCredit(uint64_t conn, uint64_t bytes) = 0;
};

struct ConsoleOptions {
  std::chrono::seconds idle_timeout{1800};  ///< no input for this long: closed with 4011
  uint64_t output_window = 256 * 1024;      ///< agent output in flight toward one browser
  size_t max_pending_input = 256 * 1024;    ///< input waiting for the agent's credit (network)
};

class ConsoleBridge {
 public:
  ConsoleBridge(store::Store& store, gateway::NodeStreams& streams, common::Executor& executor,
                ConsoleTransport& transport, ConsoleOptions options);
  ~ConsoleBridge();

  /// A WebSocket whose ticket was redeemed at the upgrade.
  void onOpen(uint64_t conn, const Ticket& ticket);
  /// A message the splice did not relay: text, a keepalive ping, an oversized one.
  void onMessage(uint64_t conn, const std::string& data, bool binary);
  /// The console's splice relayed input (reported at most once a second): it is not idle.
  void onInput(uint64_t conn);
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
