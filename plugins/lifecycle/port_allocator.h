#pragma once
// Game ports: the lowest port of the configured range that no instance holds, no create in
// flight has reserved, and that binds right now on every listen host.
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "agent/sdk/result.h"

namespace zlh::plugins::lifecycle {

struct PortRange {
  uint16_t first = 25565;
  uint16_t last = 25664;
};

/// "25565-25664" (or one port "25565"); InvalidArgument otherwise.
agent::sdk::Result<PortRange> parsePortRange(std::string_view text);

class PortAllocator {
 public:
  using FreeCheck = std::function<bool(const std::string& host, uint16_t port)>;

  PortAllocator(PortRange range, std::vector<std::string> hosts, FreeCheck is_free);

  /// Reserves and returns a port not in `taken` (ports of existing instances). Unavailable when
  /// the range is exhausted.
  agent::sdk::Result<uint16_t> allocate(const std::set<uint16_t>& taken);
  /// Ends a reservation (the port is then either recorded in an instance or free again).
  void release(uint16_t port) { reserved_.erase(port); }
  bool reserved(uint16_t port) const { return reserved_.count(port) > 0; }
  const PortRange& range() const { return range_; }

 private:
  PortRange range_;
  std::vector<std::string> hosts_;
  FreeCheck is_free_;
  std::set<uint16_t> reserved_;
};

}  // namespace zlh::plugins::lifecycle
