#pragma once
// Parsing of the coordinator URL and of host:port listen addresses.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "agent/sdk/result.h"

namespace zlh::agent::core {

inline constexpr const char* kDefaultConnectPath = "/agent/v1/connect";

struct WsUrl {
  bool tls = false;   // wss://
  std::string host;   // without brackets for IPv6
  uint16_t port = 0;  // explicit or the scheme's default
  std::string path;   // "/agent/v1/connect" when the URL has no path or "/"
  bool ipv6 = false;

  /// "host" or "host:port" (brackets around IPv6), as sent in the Host header.
  std::string hostHeader() const;
};

/// Parses a ws:// or wss:// URL. The error text is the reason only ("must start with ws:// or
/// wss://"), the caller names the key.
sdk::Result<WsUrl> parseWsUrl(std::string_view text);

/// True for localhost, 127.0.0.0/8 and ::1.
bool isLoopbackHost(std::string_view host);

struct HostPort {
  std::string host;  // without brackets
  uint16_t port = 0;
  bool ipv6 = false;
  std::string text() const;  // "host:port" / "[v6]:port"
};

/// Parses "host:port" or "[v6]:port" (port 0 = any free port).
sdk::Result<HostPort> parseHostPort(std::string_view text);

}  // namespace zlh::agent::core
