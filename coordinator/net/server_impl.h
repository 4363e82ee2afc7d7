#pragma once
// Private to the net module: the state the lws thread owns.
#include <libwebsockets.h>

#include <atomic>
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
  enum class Kind { kRespond, kText, kBinary, kClose } kind = Kind::kRespond;
  ConnId conn = 0;
  HttpResponse response;
  std::string data;  // text message or close reason
  uint16_t code = 0;
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
