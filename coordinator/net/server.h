#pragma once
// The coordinator's one libwebsockets module: HTTP + WebSocket server (TLS when a certificate is
// configured). lws runs its own poll loop on one dedicated thread that owns every lws object
// (Debian's lws 4.1.6 has no external poll). Everything the application sees is handed to a
// Poster (the logic thread); answers come back through respond/sendText/close, which queue a
// command and wake the lws thread with lws_cancel_service(). No lws type appears here.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "proto/v1/result.h"

namespace zlh::coordinator::net {

using ConnId = uint64_t;

struct HttpRequest {
  ConnId conn = 0;
  std::string method;  // GET, POST, PUT, PATCH, DELETE, OPTIONS, HEAD
  std::string path;    // URL-decoded path
  std::string query;   // arguments joined with '&'
  /// Lower-case names; only the headers the API reads (authorization, content-type,
  /// idempotency-key, user-agent, accept-encoding).
  std::map<std::string, std::string> headers;
  std::string body;
  std::string peer;  // client address
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

/// What the lws thread knows about a WebSocket upgrade before answering it.
struct UpgradeRequest {
  std::string path;
  std::string query;          // URI arguments joined with '&' (may hold a secret: never log it)
  std::string endpoint;       // the matched endpoint's subprotocol, e.g. "zlh.agent.v1"
  std::string subprotocols;   // the Sec-WebSocket-Protocol header as sent
  std::string authorization;  // the Authorization header (a secret: never log it)
  std::string peer;
};

/// A client WebSocket joined to one stream of an agent link (docs/protocol.md, "Streams") on the
/// lws thread, so a console's bytes cross no thread between its two sockets:
/// - the link's binary frames of the stream reach the client as binary messages (the payloads),
///   and the agent's output credit goes back on the link (`stream.credit`) as the client's socket
///   takes them: at most the stream's initial credit waits here;
/// - the client's binary messages go to the stream as frames within the input credit the
///   application passes on (Server::spliceCredit); up to `max_pending` bytes wait for it (and
///   for the stream, from the upgrade on), and input beyond that is dropped with a warning.
/// The client's other messages (text, empty, over the stream payload limit, or starting with
/// `local_op`) still reach Handler::onWsMessage. A close of either connection, or Server::close
/// of either, ends the splice.
struct SpliceInput {
  size_t max_pending = 256 * 1024;
  int local_op = -1;  // a first byte that keeps a message local (-1: none)
};

struct UpgradeDecision {
  bool accept = false;
  HttpResponse refusal;  // sent instead of 101 when !accept
  std::string context;   // handed to Handler::onWsOpen when accepted
  /// The client will be spliced to a stream (SpliceInput): its input waits here until then.
  std::optional<SpliceInput> splice;
};

/// Application side. Every call is made through the Poster, in arrival order per connection.
class Handler {
 public:
  virtual ~Handler() = default;
  /// Must be answered exactly once with Server::respond (a closed connection drops the answer).
  virtual void onHttpRequest(HttpRequest request) = 0;
  virtual void onWsOpen(ConnId conn, const std::string& peer, const std::string& context) = 0;
  /// One whole message (fragments reassembled).
  virtual void onWsMessage(ConnId conn, std::string data, bool binary) = 0;
  virtual void onWsPong(ConnId conn) = 0;
  virtual void onWsClosed(ConnId conn) = 0;
  /// The network module answered a request itself (413 body too large, 411 chunked body) without
  /// handing it to onHttpRequest: for request metrics.
  virtual void onHttpAnsweredLocally(int status) { (void)status; }
  /// A spliced client (Server::splice) sent input; reported at most once a second, for idle
  /// timeouts.
  virtual void onSpliceInput(ConnId client) { (void)client; }
};

/// Runs ON THE LWS THREAD, synchronously, while the upgrade request waits (lws filters cannot
/// be asynchronous). Must be quick and thread-safe with respect to the application.
using UpgradeAuthorizer = std::function<UpgradeDecision(const UpgradeRequest&)>;
/// Runs a function on the logic thread.
using Poster = std::function<void(std::function<void()>)>;

struct ServerOptions {
  std::string host = "127.0.0.1";  // IP literal (IPv6 without brackets)
  uint16_t port = 7420;            // 0: the kernel picks one (see Server::port)
  std::string tls_cert;            // PEM files; TLS when both are set
  std::string tls_key;
  /// WebSocket endpoints: a path and the subprotocol it requires (each path one subprotocol).
  struct WsEndpoint {
    std::string path;
    std::string subprotocol;
    /// Its binary messages are one byte stream (a console's output): binary messages queued
    /// behind a slow client are sent joined, up to 64 KiB, so a client that falls behind costs
    /// every hop fewer, larger messages. Message boundaries must not matter to the client.
    bool binary_stream = false;
  };
  std::vector<WsEndpoint> endpoints = {{"/agent/v1/connect", "zlh.agent.v1"}};
  uint32_t ping_interval_s = 20;  // WebSocket ping after this much silence
  uint32_t link_timeout_s = 60;   // a WebSocket silent this long is dropped
  size_t max_body_bytes = 1 << 20;
  size_t max_ws_message_bytes = (1 << 20) + 4096;
  // RFC 7692 compression for clients that offer it (browsers do). Writes are fragmented so that
  // lws 4.1.6 never has to drain its compressor (lws_callbacks.cpp, kMaxFragment).
  bool permessage_deflate = true;
};

class Server {
 public:
  /// Starts the lws thread and waits until it listens (or failed to).
  static proto::Result<std::unique_ptr<Server>> start(const ServerOptions& options, Poster poster,
                                                      Handler& handler,
                                                      UpgradeAuthorizer authorizer);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// The port actually listened on.
  uint16_t port() const;

  // Thread-safe; a connection that has gone away makes these no-ops.
  void respond(ConnId conn, HttpResponse response);
  void sendText(ConnId conn, std::string text);
  void sendBinary(ConnId conn, std::string bytes);
  /// Sends a close frame with `code` after what is already queued, then closes.
  void close(ConnId conn, uint16_t code, std::string reason);
  /// Joins a client accepted with UpgradeDecision::splice to a link's stream (SpliceInput).
  /// Call it before sending the stream's stream.open on the link (commands run in order): what
  /// the link sends before the splice is in place is not relayed. `output_window` is the
  /// stream's initial credit.
  void splice(ConnId client, ConnId link, uint32_t stream_id, uint64_t output_window);
  /// The agent granted the spliced client's stream `bytes` more input.
  void spliceCredit(ConnId client, uint64_t bytes);

  /// Stops the loop, closes every connection and joins the thread. Idempotent.
  void stop();

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace zlh::coordinator::net
