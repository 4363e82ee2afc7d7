#include "agent/shim/output_hold.h"

#include <algorithm>

namespace zlh::agent::shim {

void OutputHold::dropReleased() {
  held_.erase(0, released_);
  released_ = 0;
}

std::string_view OutputHold::release(size_t n) {
  released_ = n;
  return std::string_view(held_).substr(0, n);
}

std::string_view OutputHold::add(std::string_view bytes, Clock::time_point now) {
  dropReleased();
  if (held_.empty() && bytes.size() < kBurstBytes) return bytes;
  if (held_.empty()) due_at_ = now + kHold;
  held_.append(bytes);
  if (held_.size() < release_bytes_) return {};
  if (held_.size() > release_bytes_) due_at_ = now + kHold;  // the rest is a new burst
  return release(release_bytes_);
}

std::string_view OutputHold::due(Clock::time_point now, bool force) {
  dropReleased();
  if (held_.empty() || (!force && now < due_at_)) return {};
  return release(std::min(held_.size(), release_bytes_));  // the rest on the next call
}

std::optional<OutputHold::Clock::time_point> OutputHold::deadline() const {
  if (held_.size() == released_) return std::nullopt;
  return due_at_;
}

}  // namespace zlh::agent::shim
