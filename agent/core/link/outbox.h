#pragma once
// Messages waiting for the next welcome. Job results are never dropped; events are bounded
// (oldest dropped first, counted by the caller).
#include <cstddef>
#include <deque>
#include <string>

namespace zlh::agent::core {

class Outbox {
 public:
  explicit Outbox(size_t max_events = 1000) : max_events_(max_events) {}

  void pushResult(std::string text) { items_.push_back({false, std::move(text)}); }
  /// Returns true when an older event had to be dropped to make room.
  bool pushEvent(std::string text);
  /// Takes everything, in order.
  std::deque<std::string> takeAll();
  size_t size() const { return items_.size(); }
  size_t events() const { return events_; }

 private:
  struct Item {
    bool event;
    std::string text;
  };
  size_t max_events_;
  size_t events_ = 0;
  std::deque<Item> items_;
};

}  // namespace zlh::agent::core
