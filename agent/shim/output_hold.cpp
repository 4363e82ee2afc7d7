#include "agent/shim/output_hold.h"

namespace zlh::agent::shim {

void OutputHold::dropReleased() {
  if (!released_) return;
  held_.clear();
  released_ = false;
}

std::string_view OutputHold::release() {
  released_ = true;
  return held_;
}

std::string_view OutputHold::add(std::string_view bytes, Clock::time_point now) {
  dropReleased();
  if (held_.empty() && bytes.size() < kBurstBytes) return bytes;
  if (held_.empty()) due_at_ = now + kHold;
  held_.append(bytes);
  return held_.size() >= release_bytes_ ? release() : std::string_view();
}

std::string_view OutputHold::due(Clock::time_point now, bool force) {
  dropReleased();
  if (held_.empty() || (!force && now < due_at_)) return {};
  return release();
}

std::optional<OutputHold::Clock::time_point> OutputHold::deadline() const {
  if (held_.empty() || released_) return std::nullopt;
  return due_at_;
}

}  // namespace zlh::agent::shim
