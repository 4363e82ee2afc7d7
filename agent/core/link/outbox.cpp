#include "agent/core/link/outbox.h"

namespace zlh::agent::core {

bool Outbox::pushEvent(std::string text) {
  bool dropped = false;
  if (events_ >= max_events_) {
    for (auto it = items_.begin(); it != items_.end(); ++it) {
      if (!it->event) continue;
      items_.erase(it);
      --events_;
      dropped = true;
      break;
    }
  }
  items_.push_back({true, std::move(text)});
  ++events_;
  return dropped;
}

std::deque<std::string> Outbox::takeAll() {
  std::deque<std::string> out;
  for (auto& item : items_) out.push_back(std::move(item.text));
  items_.clear();
  events_ = 0;
  return out;
}

}  // namespace zlh::agent::core
