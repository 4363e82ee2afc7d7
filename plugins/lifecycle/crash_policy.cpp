#include "plugins/lifecycle/crash_policy.h"

#include <algorithm>
#include <cmath>

namespace zlh::plugins::lifecycle {

uint32_t CrashTracker::record(SteadyTime now, const RestartSpec& spec) {
  crashes_.push_back(now);
  auto window = std::chrono::seconds(spec.crash_loop_window_s);
  while (!crashes_.empty() && now - crashes_.front() > window) crashes_.pop_front();
  return uint32_t(crashes_.size());
}

std::chrono::milliseconds backoffDelay(uint32_t crash_count, const RestartSpec& spec,
                                       double jitter) {
  double max_ms = double(spec.backoff_max_s) * 1000.0;
  double base = double(spec.backoff_initial_s) * 1000.0;
  uint32_t doublings = crash_count > 0 ? crash_count - 1 : 0;
  base = std::min(max_ms, base * std::pow(2.0, double(std::min<uint32_t>(doublings, 30))));
  jitter = std::clamp(jitter, -1.0, 1.0);
  double ms = std::min(max_ms, base * (1.0 + 0.2 * jitter));
  return std::chrono::milliseconds(int64_t(std::llround(ms)));
}

std::string crashLoopReason(uint32_t crash_count, const RestartSpec& spec) {
  return "crash loop: " + std::to_string(crash_count) + " crashes in " +
         std::to_string(spec.crash_loop_window_s) + " s";
}

}  // namespace zlh::plugins::lifecycle
