#pragma once
// The network edge of the agent: the outbound WebSocket link to the coordinator and the read-only
// HTTP listener (/metrics, /healthz). One implementation (lws_transport.cpp) owns libwebsockets on
// one dedicated thread; this header has no lws or Asio types. Handlers are called on the core loop
// (through the executor given at creation); the methods below are thread-safe.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "agent/sdk/result.h"
#include "agent/sdk/task.h"

namespace zlh::agent::core {

struct TransportConfig {
  // Link.
  std::string host;
  uint16_t port = 0;
  std::string path;
  std::string host_header;
  bool tls = false;
  bool insecure = false;      // TLS without verification
  std::string ca_file;        // empty: system store
  std::string token;          // sent as Authorization: Bearer; never logged
  uint16_t ping_secs = 20;    // WebSocket ping after this much silence
  uint16_t hangup_secs = 60;  // drop the link after this much silence
  size_t max_message_bytes = 1 << 20;
  // Read-only HTTP.
  std::string http_host = "127.0.0.1";
  uint16_t http_port = 7421;  // 0: any free port (see httpPort())
};

/// How a link (or a dial) ended.
struct LinkClosed {
  bool was_open = false;  // the WebSocket upgrade had succeeded
  int http_status = 0;    // status of a refused upgrade (401, 403, ...), else 0
  int close_code = 0;     // close code from the peer, else 0
  std::string reason;     // close reason or connection error text
};

class LinkHandler {
 public:
  virtual ~LinkHandler() = default;
  virtual void onLinkOpen(uint64_t link) = 0;
  virtual void onLinkText(uint64_t link, std::string text) = 0;
  /// A message exceeded max_message_bytes (the bytes were dropped).
  virtual void onLinkRejected(uint64_t link, std::string why) = 0;
  /// A whole binary message (a stream frame) within max_message_bytes.
  virtual void onLinkBinary(uint64_t link, std::string bytes) = 0;
  virtual void onLinkClosed(uint64_t link, LinkClosed info) = 0;
};

struct HttpRequest {
  uint64_t id = 0;
  std::string method;           // "GET", "POST", ...
  std::string path;             // without the query string
  std::string accept_encoding;  // the Accept-Encoding header, "" when absent
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::string allow;                  // value of an Allow header (405), empty for none
  std::string content_encoding;       // e.g. "gzip" (the body is already encoded), empty for none
  bool vary_accept_encoding = false;  // "Vary: Accept-Encoding": the body depends on it
};

class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  /// Answer with Transport::respond(request.id, ...), now or later.
  virtual void onHttpRequest(HttpRequest request) = 0;
};

class Transport {
 public:
  using Executor = std::function<void(sdk::Task)>;
  virtual ~Transport() = default;

  /// Starts a connection attempt; returns its link id (ids only grow).
  virtual uint64_t dial() = 0;
  /// Queues a text message on `link` (dropped if that link is gone).
  virtual void send(uint64_t link, std::string text) = 0;
  /// Queues a binary message (a stream frame) on `link`.
  virtual void sendBinary(uint64_t link, std::string bytes) = 0;
  /// Closes `link` with a close code (or aborts a dial in progress).
  virtual void close(uint64_t link, int code, std::string reason) = 0;
  virtual void respond(uint64_t request, HttpResponse response) = 0;
  /// The bound HTTP port (the configured one, or the one picked for port 0).
  virtual uint16_t httpPort() const = 0;
  /// Stops the network thread and frees every lws object. Idempotent.
  virtual void shutdown() = 0;
};

/// Creates the lws context, binds the HTTP listener and starts the network thread.
sdk::Result<std::unique_ptr<Transport>> makeLwsTransport(TransportConfig config,
                                                         Transport::Executor post,
                                                         LinkHandler& link, HttpHandler& http);

}  // namespace zlh::agent::core
