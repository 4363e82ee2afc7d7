#pragma once
// Readiness and health probes: Minecraft Server List Ping, HTTP status, TCP connect. Each one is
// blocking with a hard deadline (non-blocking sockets + poll): run them on the agent's pool.
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "agent/sdk/result.h"
#include "plugins/lifecycle/template.h"

namespace zlh::plugins::lifecycle {

/// What a Server List Ping returned.
struct SlpStatus {
  nlohmann::json raw;  ///< the server's status JSON
  std::optional<int64_t> players_online;
  std::optional<int64_t> players_max;
  std::string version_name;
  std::optional<int64_t> protocol;
  std::chrono::milliseconds latency{0};
  nlohmann::json summary() const;  ///< {players_online, players_max, version, protocol, latency_ms}
};

/// Handshake (protocol `protocol_version`, next state 1) + status request; parses the JSON
/// answer. Unavailable on connect/read failures and bad answers, DeadlineExceeded on timeout.
agent::sdk::Result<SlpStatus> serverListPing(const std::string& host, uint16_t port,
                                             std::chrono::milliseconds timeout,
                                             int32_t protocol_version = -1);

/// Connects and closes.
agent::sdk::Status tcpProbe(const std::string& host, uint16_t port,
                            std::chrono::milliseconds timeout);

/// GET http://host:port<path> (redirects not followed); ok when the status equals
/// `expect_status`, or is below 400 when `expect_status` is 0.
agent::sdk::Status httpProbe(const std::string& host, uint16_t port, const std::string& path,
                             int expect_status, std::chrono::milliseconds timeout);

struct ProbeTarget {
  PingKind kind = PingKind::kNone;
  std::string host;
  uint16_t port = 0;
  std::string http_path = "/";
  int expect_status = 0;
  std::chrono::milliseconds timeout{5000};
};

struct ProbeResult {
  agent::sdk::Status status;
  std::optional<SlpStatus> slp;  ///< for minecraft pings that answered
};

/// Runs the probe of `target.kind` (kNone passes at once).
ProbeResult runProbe(const ProbeTarget& target);

// Wire helpers, exposed for tests.
void appendVarInt(std::vector<uint8_t>& out, int32_t value);
/// Decodes a VarInt at `data[pos]`; nullopt when incomplete or longer than 5 bytes.
std::optional<int32_t> readVarInt(const std::vector<uint8_t>& data, size_t& pos);
std::vector<uint8_t> buildHandshake(const std::string& host, uint16_t port, int32_t protocol);

}  // namespace zlh::plugins::lifecycle
