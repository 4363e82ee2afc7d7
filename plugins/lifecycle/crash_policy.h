#pragma once
// The restart rules, as pure functions of time so tests can drive them (docs/lifecycle.md,
// "Crash policy"; template [restart]).
#include <chrono>
#include <cstdint>
#include <deque>
#include <string>

#include "plugins/lifecycle/template.h"

namespace zlh::plugins::lifecycle {

using SteadyTime = std::chrono::steady_clock::time_point;

/// Crashes of one instance within the sliding window.
class CrashTracker {
 public:
  /// Records a crash and returns how many fall within the last `crash_loop_window_s`.
  uint32_t record(SteadyTime now, const RestartSpec& spec);
  /// Forgets every crash (after the instance stayed ready for `stable_after_s`).
  void reset() { crashes_.clear(); }
  uint32_t count() const { return uint32_t(crashes_.size()); }

 private:
  std::deque<SteadyTime> crashes_;
};

/// Delay before restart number `crash_count` (1-based): backoff_initial_s doubling per crash,
/// capped at backoff_max_s, then scaled by (1 + 0.2 * jitter) with jitter in [-1, 1] and capped
/// again.
std::chrono::milliseconds backoffDelay(uint32_t crash_count, const RestartSpec& spec,
                                       double jitter);

/// True when `crash_count` crashes within the window stop the restarts.
inline bool isCrashLoop(uint32_t crash_count, const RestartSpec& spec) {
  return crash_count >= spec.crash_loop_count;
}

/// "crash loop: 5 crashes in 600 s".
std::string crashLoopReason(uint32_t crash_count, const RestartSpec& spec);

}  // namespace zlh::plugins::lifecycle
