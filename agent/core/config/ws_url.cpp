#include "agent/core/config/ws_url.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>

namespace zlh::agent::core {
namespace {

sdk::Error bad(std::string reason) {
  return sdk::makeError(sdk::ErrorCode::kInvalidArgument, std::move(reason));
}

std::optional<uint16_t> parsePort(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  unsigned v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v > 65535) return std::nullopt;
  return uint16_t(v);
}

// Splits "host[:port]" / "[v6][:port]". Returns false when malformed.
bool splitAuthority(std::string_view a, std::string& host, std::string_view& port, bool& ipv6) {
  ipv6 = false;
  if (!a.empty() && a.front() == '[') {
    auto close = a.find(']');
    if (close == std::string_view::npos) return false;
    host = std::string(a.substr(1, close - 1));
    ipv6 = true;
    auto rest = a.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return false;
    port = rest.empty() ? std::string_view() : rest.substr(1);
    if (!rest.empty() && port.empty()) return false;
    in6_addr addr{};
    return inet_pton(AF_INET6, host.c_str(), &addr) == 1;
  }
  auto colon = a.rfind(':');
  host = std::string(a.substr(0, colon));
  port = colon == std::string_view::npos ? std::string_view() : a.substr(colon + 1);
  if (colon != std::string_view::npos && port.empty()) return false;
  return host.find(':') == std::string::npos;
}

bool validHostChars(const std::string& host) {
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string WsUrl::hostHeader() const {
  std::string h = ipv6 ? "[" + host + "]" : host;
  bool default_port = (tls && port == 443) || (!tls && port == 80);
  return default_port ? h : h + ":" + std::to_string(port);
}

sdk::Result<WsUrl> parseWsUrl(std::string_view text) {
  WsUrl url;
  std::string_view rest;
  if (text.rfind("wss://", 0) == 0) {
    url.tls = true;
    rest = text.substr(6);
  } else if (text.rfind("ws://", 0) == 0) {
    rest = text.substr(5);
  } else {
    return bad("must start with ws:// or wss://");
  }
  auto end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  std::string_view tail = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  if (authority.find('@') != std::string_view::npos)
    return bad("must not contain credentials (use coordinator.token_file)");
  if (tail.find('#') != std::string_view::npos) return bad("must not contain a fragment");
  std::string_view port;
  if (!splitAuthority(authority, url.host, port, url.ipv6))
    return bad("has a malformed host or port");
  if (url.host.empty()) return bad("has no host");
  if (!url.ipv6 && !validHostChars(url.host)) return bad("has a malformed host");
  if (port.empty()) {
    url.port = url.tls ? 443 : 80;
  } else {
    auto p = parsePort(port);
    if (!p || *p == 0) return bad("has a bad port");
    url.port = *p;
  }
  url.path = std::string(tail);
  if (url.path.empty() || url.path == "/")
    url.path = kDefaultConnectPath;
  else if (url.path.front() == '?')
    url.path = kDefaultConnectPath + url.path;
  return url;
}

bool isLoopbackHost(std::string_view host) {
  if (host == "localhost") return true;
  std::string h(host);
  in_addr v4{};
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

std::string HostPort::text() const {
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

sdk::Result<HostPort> parseHostPort(std::string_view text) {
  HostPort hp;
  std::string_view port;
  if (!splitAuthority(text, hp.host, port, hp.ipv6) || hp.host.empty() || port.empty())
    return bad("expected host:port, e.g. 127.0.0.1:7421");
  auto p = parsePort(port);
  if (!p) return bad("has a bad port");
  hp.port = *p;
  return hp;
}

}  // namespace zlh::agent::core
