#include "agent/core/link/backoff.h"

#include <algorithm>

namespace zlh::agent::core {

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, uint64_t seed)
    : initial_(std::max<std::chrono::milliseconds>(initial, std::chrono::milliseconds(1))),
      max_(std::max(max, initial_)),
      rng_(seed) {}

std::chrono::milliseconds Backoff::ceiling(uint32_t n) const {
  int64_t d = initial_.count();
  for (uint32_t i = 0; i < n && d < max_.count(); ++i) d *= 2;
  return std::chrono::milliseconds(std::min<int64_t>(d, max_.count()));
}

std::chrono::milliseconds Backoff::next() {
  const int64_t d = ceiling(attempt_).count();
  if (attempt_ < 64) ++attempt_;
  std::uniform_int_distribution<int64_t> dist(d / 2, d);
  return std::chrono::milliseconds(std::max<int64_t>(1, dist(rng_)));
}

}  // namespace zlh::agent::core
