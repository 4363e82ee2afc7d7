#pragma once
// Private to the net module: the state the lws thread owns.
#include <libwebsockets.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "coordinator/net/server.h"

namespace zlh::coordinator::net {

/// The most lws sends to a socket in one call (a protocol's tx_packet_size). Without it lws caps
/// each send at the protocol's rx buffer size, or 4 KiB for HTTP, and sends the rest one poll
/// cycle at a time. HTTP bodies are written in pieces of this size.
constexpr size_t kTxPacketBytes = 64 * 1024;

struct Command {
  enum class Kind { kRespond, kText, kBinary, kClose, kSplice, kSpliceCredit } kind = Kind::kRespond;
  ConnId conn = 0;
  HttpResponse response;
  std::string data;  // text message or close reason
  uint16_t code = 0;
  // kSplice: the link, stream and window; kSpliceCredit: the credit.
  ConnId link = 0;
  uint32_t stream_id = 0;
  uint64_t credit = 0;
};

/// A spliced client's side (server.h, SpliceInput), on the client's Conn from its upgrade.
struct SpliceState {
  SpliceInput input;
  ConnId link = 0;  // 0 until Server::splice
  uint32_t stream_id = 0;
  uint64_t output_window = 0;
  uint64_t in_flight = 0;     // output queued toward the client, not yet written
  uint64_t to_grant = 0;      // output written, not yet granted back to the agent
  uint64_t input_credit = 0;  // input the agent still accepts
  std::deque<std::string> pending;  // input waiting for credit (whole messages)
  size_t pending_bytes = 0;
  std::chrono::steady_clock::time_point input_reported{};
};

/// One client connection, HTTP and after an upgrade WebSocket. Lives on the lws thread.
struct Conn {
  ConnId id = 0;
  std::string peer;
  bool is_ws = false;

  // HTTP: the request being read, then the answer being written.
  HttpRequest request;
  bool reading_body = false;
  bool body_too_large = false;
  bool awaiting_response = false;
  std::optional<HttpResponse> response;
  bool headers_written = false;
  size_t body_offset = 0;
  bool close_after_response = false;

  // WebSocket.
  std::string upgrade_context;
  std::string rx;
  bool rx_in_progress = false;
  bool rx_binary = false;
  std::deque<std::pair<std::string, bool>> tx;  // message, binary
  bool join_binary = false;  // the endpoint's binary_stream
  // The message being written, a fragment per writable callback (see onWsWriteable).
  std::string out;
  size_t out_offset = 0;
  bool out_binary = false;
  bool out_active = false;
  std::vector<unsigned char> wbuf;  // the fragment lws is writing (LWS_PRE + payload)
  bool peer_closing = false;
  size_t tx_bytes = 0;
  std::optional<std::pair<uint16_t, std::string>> close_request;

  // Splices (splice.cpp): a client's own, or on a link its streams' clients.
  std::optional<SpliceState> splice;
  std::unordered_map<uint32_t, ConnId> spliced;
};

struct Server::Impl {
  Impl(const ServerOptions& o, Poster p, Handler& h, UpgradeAuthorizer a)
      : options(o), poster(std::move(p)), handler(h), authorizer(std::move(a)) {}

  ServerOptions options;
  Poster poster;
  Handler& handler;
  UpgradeAuthorizer authorizer;

  std::thread thread;
  std::atomic<bool> stopping{false};
  // The context other threads wake (wake()), null before run() creates it and once it starts
  // destroying it: the mutex keeps a wake-up under way from racing the destruction.
  std::mutex wake_mu;
  lws_context* context = nullptr;
  std::atomic<uint16_t> port{0};

  std::mutex mu;  // guards commands
  std::deque<Command> commands;

  // lws thread only.
  std::unordered_map<lws*, Conn> conns;
  std::unordered_map<ConnId, lws*> by_id;
  ConnId next_id = 1;
  lws_retry_bo_t retry{};
  std::vector<lws_protocols> protocols;

  void run(std::promise<proto::Result<uint16_t>> started);
  void push(Command cmd);
  /// Wakes the lws thread (lws_cancel_service) while its context lives.
  void wake();
  void drainCommands();
  Conn& conn(lws* wsi);
  Conn* findConn(lws* wsi);
  /// The WebSocket `id` with its lws handle, or null when it is gone or not a WebSocket.
  std::pair<lws*, Conn*> findWs(ConnId id);
  /// Queues a message on a WebSocket (no-op once it is closing).
  void queueMessage(lws* wsi, Conn& c, std::string data, bool binary);

  // splice.cpp
  void startSplice(Conn& client, ConnId link, uint32_t stream_id, uint64_t output_window);
  void addSpliceCredit(Conn& client, uint64_t bytes);
  /// Sends the waiting input that the credit covers, in order.
  void flushSpliceInput(SpliceState& s);
  /// A whole message from a link: true when it was a spliced stream's frame, relayed.
  bool relayFromLink(Conn& link, std::string& message);
  /// A whole message from a spliced client: true when it went to the stream (or waits for credit).
  bool relayFromClient(Conn& client, std::string& message, bool binary);
  /// The client's socket took `bytes` of relayed output: grants them back to the agent.
  void spliceOutputSent(Conn& client, size_t bytes);
  /// Ends the splices of a connection that closes (either side).
  void endSplices(Conn& c);

  // lws_callbacks.cpp
  int onHttp(lws* wsi, const char* uri);
  int onHttpBody(lws* wsi, const char* in, size_t len);
  int onHttpBodyDone(lws* wsi);
  int onHttpWriteable(lws* wsi);
  int onConfirmUpgrade(lws* wsi);
  int onWsEstablished(lws* wsi);
  int onWsReceive(lws* wsi, const char* in, size_t len);
  int onWsWriteable(lws* wsi);
  void onClosed(lws* wsi);
  void dispatchRequest(lws* wsi, Conn& c);
  /// Answers with the module's own error (the application never sees the request).
  void answerNow(lws* wsi, Conn& c, HttpResponse response);
};

int lwsCallback(lws* wsi, lws_callback_reasons reason, void* user, void* in, size_t len);

/// {"error":{"code","message"}} for the few answers the net module gives itself.
HttpResponse errorResponse(int status, const std::string& code, const std::string& message);

}  // namespace zlh::coordinator::net
