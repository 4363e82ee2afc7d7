#pragma once
// zlhctl's client of the public API: the base URL, one JSON request, and the console session
// (a console ticket, then the zlh.console.v1 WebSocket wired to this terminal). Boost.Beast over
// OpenSSL; https/wss verified against the system CAs (host name checked, SNI sent).
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "proto/v1/result.h"

namespace zlh::coordinator::ctl {

struct BaseUrl {
  bool tls = false;
  std::string host;
  uint16_t port = 0;
  std::string path_prefix;  ///< without a trailing slash ("" for the root)
};

/// http(s)://host[:port][/prefix]. InvalidArgument otherwise.
proto::Result<BaseUrl> parseBaseUrl(const std::string& url);

struct ApiAnswer {
  int status = 0;
  nlohmann::json body;  ///< null when the body was not JSON
};

/// One request with `Authorization: Bearer <token>`; 10 s for the whole exchange.
proto::Result<ApiAnswer> apiRequest(const BaseUrl& base, const std::string& method,
                                    const std::string& path, const std::string& token,
                                    const nlohmann::json* body = nullptr);

struct ConsoleOutcome {
  int close_code = 0;  ///< the WebSocket close code (0: none was received)
  std::string reason;  ///< close reason or error text
  bool detached = false;
};

/// Attaches this process's terminal (stdin/stdout) to the instance's console until the server
/// closes it, the connection fails or the user detaches (Ctrl-]). Raw mode while attached when
/// stdin is a terminal; window size changes are sent as resizes.
proto::Result<ConsoleOutcome> attachConsole(const BaseUrl& base, const std::string& ticket);

}  // namespace zlh::coordinator::ctl
