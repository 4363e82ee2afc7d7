#pragma once
// Redial delays: exponential (initial doubling up to a cap) with "equal jitter": the delay is
// drawn uniformly from [d/2, d], so redials spread out yet never come faster than d/2 (no tight
// loop even when a coordinator keeps refusing).
#include <chrono>
#include <cstdint>
#include <random>

namespace zlh::agent::core {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max,
          uint64_t seed = std::random_device{}());

  /// The delay before the next attempt; each call doubles the ceiling up to the cap.
  std::chrono::milliseconds next();
  /// Back to the initial delay (after a link reached welcome).
  void reset() { attempt_ = 0; }
  uint32_t attempt() const { return attempt_; }
  /// The un-jittered ceiling for attempt `n` (0-based).
  std::chrono::milliseconds ceiling(uint32_t n) const;

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  uint32_t attempt_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace zlh::agent::core
