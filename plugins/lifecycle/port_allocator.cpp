#include "plugins/lifecycle/port_allocator.h"

#include <charconv>

namespace zlh::plugins::lifecycle {
namespace sdk = agent::sdk;

namespace {

bool parsePort(std::string_view s, uint16_t& out) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v == 0 || v > 65535) return false;
  out = uint16_t(v);
  return true;
}

}  // namespace

sdk::Result<PortRange> parsePortRange(std::string_view text) {
  PortRange r;
  size_t dash = text.find('-');
  std::string_view a = text.substr(0, dash);
  std::string_view b = dash == std::string_view::npos ? a : text.substr(dash + 1);
  if (!parsePort(a, r.first) || !parsePort(b, r.last) || r.last < r.first)
    return sdk::makeError(sdk::ErrorCode::kInvalidArgument,
                          "port_range: expected \"FIRST-LAST\" with 1 <= FIRST <= LAST <= 65535, "
                          "got \"" +
                              std::string(text) + "\"");
  return r;
}

PortAllocator::PortAllocator(PortRange range, std::vector<std::string> hosts, FreeCheck is_free)
    : range_(range), hosts_(std::move(hosts)), is_free_(std::move(is_free)) {}

sdk::Result<uint16_t> PortAllocator::allocate(const std::set<uint16_t>& taken) {
  for (uint32_t p = range_.first; p <= range_.last; ++p) {
    auto port = uint16_t(p);
    if (taken.count(port) || reserved_.count(port)) continue;
    bool free = true;
    for (const auto& h : hosts_) free = free && is_free_(h, port);
    if (!free) continue;
    reserved_.insert(port);
    return port;
  }
  return sdk::makeError(
      sdk::ErrorCode::kUnavailable,
      "no free port in " + std::to_string(range_.first) + "-" + std::to_string(range_.last));
}

}  // namespace zlh::plugins::lifecycle
