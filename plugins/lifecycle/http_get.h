#pragma once
// A small blocking HTTP/1.1 GET client (Boost.Beast over Asio and the OpenSSL the agent already
// links) for install artifacts and HTTP readiness probes. Every call has a hard deadline and can be
// cancelled; https is always verified (system CA store, host name checked, SNI sent). Blocking: run
// it on the agent's pool, never on the loop.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "agent/sdk/result.h"

namespace zlh::plugins::lifecycle {

struct HttpUrl {
  bool tls = false;
  std::string host;  ///< without brackets for IPv6 literals
  uint16_t port = 0;
  std::string target = "/";  ///< path and query
};

/// http:// or https:// URLs only; "user:pass@" is dropped, "#fragment" ignored. InvalidArgument
/// "only http and https URLs" or "bad URL ..." otherwise.
agent::sdk::Result<HttpUrl> parseHttpUrl(const std::string& url);

/// `location` of a redirect answered for `base` (absolute URL, "//host/..", "/path" or relative).
std::string resolveRedirect(const HttpUrl& base, const std::string& location);

struct HttpGetOptions {
  std::chrono::steady_clock::time_point deadline;  ///< whole request, redirects included
  unsigned max_redirects = 0;                      ///< 0: a 3xx answer is returned as is
  uint64_t max_body_bytes = UINT64_MAX;            ///< InvalidArgument "larger than N bytes"
  bool fail_on_http_error = false;  ///< status >= 400: Unavailable "HTTP status N", body unread
  std::function<bool()> cancelled;                 ///< polled while waiting (every 100 ms)
  /// Receives the body in pieces; an error aborts the transfer and is returned. Null: discarded.
  std::function<agent::sdk::Status(std::string_view)> on_body;
};

struct HttpAnswer {
  int status = 0;
  std::string url;  ///< the URL that answered (after redirects)
};

/// GET `url`. Unavailable for resolve/connect/TLS/protocol failures, DeadlineExceeded when the
/// deadline passes ("cancelled" when `cancelled` said so), InvalidArgument for bad URLs, an https
/// -> http redirect or too many redirects. Any status is an answer: callers judge it. Messages
/// carry URLs without query or credentials.
agent::sdk::Result<HttpAnswer> httpGet(const std::string& url, const HttpGetOptions& options);

}  // namespace zlh::plugins::lifecycle
