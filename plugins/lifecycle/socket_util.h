#pragma once
// Small blocking-with-deadline socket helpers (non-blocking fds + poll) for the probes.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "agent/sdk/result.h"
#include "plugins/lifecycle/safe_fs.h"

namespace zlh::plugins::lifecycle {

/// TCP connect to host:port (numeric or a name), giving up at `deadline`. Unavailable on refusal,
/// DeadlineExceeded on timeout.
agent::sdk::Result<UniqueFd> connectWithDeadline(const std::string& host, uint16_t port,
                                                 std::chrono::steady_clock::time_point deadline);
agent::sdk::Status sendAll(int fd, const void* data, size_t size,
                           std::chrono::steady_clock::time_point deadline);
/// Up to `size` bytes; 0 at end of stream.
agent::sdk::Result<size_t> recvSome(int fd, void* data, size_t size,
                                    std::chrono::steady_clock::time_point deadline);

/// True when a TCP listener could bind host:port right now (SO_REUSEADDR, like servers use).
bool tcpPortFree(const std::string& host, uint16_t port);

}  // namespace zlh::plugins::lifecycle
