#include "coordinator/api/sd_target.h"

#include <algorithm>
#include <cctype>

namespace zlh::coordinator::api {
namespace {
bool hostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
}
bool v6Char(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
}
bool pathChar(char c) {
  // Printable ASCII without space, '"', '<', '>', '\\', '^', '`', '{', '|', '}' (RFC 3986 plus
  // percent escapes); '?' and '#' end the path before this is asked.
  if (c <= 0x20 || c >= 0x7f) return false;
  return std::string_view("\"<>\\^`{|}").find(c) == std::string_view::npos;
}

std::optional<std::string> port(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  int n = std::stoi(std::string(text));
  if (n < 1 || n > 65535) return std::nullopt;
  return std::to_string(n);
}
}  // namespace

std::optional<ScrapeTarget> scrapeTarget(std::string_view url) {
  ScrapeTarget t;
  size_t sep = url.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  std::string scheme(url.substr(0, sep));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (scheme != "http" && scheme != "https") return std::nullopt;
  t.scheme = scheme;
  std::string_view rest = url.substr(sep + 3);
  if (rest.find_first_of("?#") != std::string_view::npos) return std::nullopt;
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);

  std::string_view host, port_text;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos || close == 1) return std::nullopt;
    std::string_view v6 = authority.substr(1, close - 1);
    if (!std::all_of(v6.begin(), v6.end(), v6Char)) return std::nullopt;
    host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port_text = after.substr(1);
      if (port_text.empty()) return std::nullopt;
    }
  } else {
    size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return std::nullopt;
    }
    // '@' (user info) and any other odd character fail here.
    if (host.empty() || !std::all_of(host.begin(), host.end(), hostChar)) return std::nullopt;
  }
  std::optional<std::string> p = port_text.empty()
                                     ? std::optional<std::string>(scheme == "https" ? "443" : "80")
                                     : port(port_text);
  if (!p) return std::nullopt;
  t.address = std::string(host) + ":" + *p;

  if (path.empty()) path = "/metrics";
  if (!std::all_of(path.begin(), path.end(), pathChar)) return std::nullopt;
  t.metrics_path = std::string(path);
  return t;
}

}  // namespace zlh::coordinator::api
