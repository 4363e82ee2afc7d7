#include "coordinator/console/tickets.h"

#include "coordinator/common/tokens.h"

namespace zlh::coordinator::console {
using proto::ErrorCode;
using proto::makeError;

proto::Result<IssuedTicket> TicketBook::issue(const std::string& user_id,
                                              const std::string& instance_id,
                                              Clock::time_point now, bool shell) {
  std::string ticket = std::string(kTicketPrefix) + common::randomBase62(32);
  std::lock_guard lock(mu_);
  prune(now);
  if (by_hash_.size() >= max_live_)
    return makeError(ErrorCode::kUnavailable, "too many console tickets outstanding; retry soon");
  Ticket t{user_id, instance_id, now + ttl_, shell};
  by_hash_[common::sha256Hex(ticket)] = t;
  return IssuedTicket{std::move(ticket), t.expires_at};
}

proto::Result<Ticket> TicketBook::redeem(const std::string& ticket, Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = by_hash_.find(common::sha256Hex(ticket));
  if (it == by_hash_.end())
    return makeError(ErrorCode::kUnauthenticated, "unknown or already used console ticket");
  Ticket t = std::move(it->second);
  by_hash_.erase(it);  // single use, valid or not
  if (now >= t.expires_at) return makeError(ErrorCode::kUnauthenticated, "console ticket expired");
  return t;
}

size_t TicketBook::live() const {
  std::lock_guard lock(mu_);
  return by_hash_.size();
}

void TicketBook::prune(Clock::time_point now) {
  for (auto it = by_hash_.begin(); it != by_hash_.end();)
    it = now >= it->second.expires_at ? by_hash_.erase(it) : std::next(it);
}

}  // namespace zlh::coordinator::console
