#pragma once
// Console tickets (docs/api.md, "Console"): single-use secrets ("zlht_" + base62 of 32 random
// bytes) bound to a user and an instance, valid for a short time (30 s by default). Only their
// SHA-256 is kept. Issued on the logic thread by the API, redeemed on the network thread during
// the WebSocket upgrade: thread-safe. Kept in memory: a ticket is redeemed on the coordinator
// that issued it (the one the page's request reached), which is fine for one coordinator; with
// several, the portal's load balancer must keep a user's ticket request and upgrade together or
// tickets move to the store (docs/api.md).
#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>

#include "proto/v1/result.h"

namespace zlh::coordinator::console {

inline constexpr std::string_view kTicketPrefix = "zlht_";

struct Ticket {
  std::string user_id;
  std::string instance_id;
  std::chrono::system_clock::time_point expires_at;
  bool shell = false;  ///< a plain shell in the instance's dir, not the process's console
};

struct IssuedTicket {
  std::string ticket;  ///< the secret, shown once
  std::chrono::system_clock::time_point expires_at;
};

class TicketBook {
 public:
  using Clock = std::chrono::system_clock;
  explicit TicketBook(std::chrono::seconds ttl = std::chrono::seconds(30), size_t max_live = 10000)
      : ttl_(ttl), max_live_(max_live) {}

  /// Unavailable when max_live unexpired tickets exist (a flood of requests).
  proto::Result<IssuedTicket> issue(const std::string& user_id, const std::string& instance_id,
                                    Clock::time_point now = Clock::now(), bool shell = false);
  /// Consumes the ticket: Unauthenticated "console ticket expired" or "unknown or already used
  /// console ticket" (a malformed one is unknown too).
  proto::Result<Ticket> redeem(const std::string& ticket, Clock::time_point now = Clock::now());
  size_t live() const;
  std::chrono::seconds ttl() const { return ttl_; }

 private:
  void prune(Clock::time_point now);
  const std::chrono::seconds ttl_;
  const size_t max_live_;
  mutable std::mutex mu_;
  std::map<std::string, Ticket> by_hash_;
};

}  // namespace zlh::coordinator::console
