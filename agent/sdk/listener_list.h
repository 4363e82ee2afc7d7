#pragma once
/// @file
/// ListenerList: callbacks with Subscription handles, safe against a listener that unsubscribes
/// (itself or another) or subscribes while being notified. Single-threaded (the core loop).
/// Used by the core's registry and supervisor and by the SDK fakes; plugins may use it too.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "agent/sdk/instances.h"

namespace zlh::agent::sdk {

template <class... Args>
class ListenerList {
 public:
  using Fn = std::function<void(Args...)>;

  ListenerList() : state_(std::make_shared<State>()) {}

  /// The listener stays registered until the returned handle is destroyed. The handle may
  /// outlive the list.
  SubscriptionPtr add(Fn fn) {
    uint64_t id = ++state_->next_id;
    state_->fns.emplace(id, std::make_shared<Fn>(std::move(fn)));
    return std::make_unique<Handle>(state_, id);
  }

  /// Calls every listener registered now and still registered when its turn comes.
  void notify(Args... args) const {
    std::vector<std::pair<uint64_t, std::weak_ptr<Fn>>> snapshot;
    for (const auto& [id, fn] : state_->fns) snapshot.emplace_back(id, fn);
    for (const auto& [id, weak] : snapshot) {
      if (!state_->fns.count(id)) continue;
      if (auto fn = weak.lock()) (*fn)(args...);
    }
  }

  size_t size() const { return state_->fns.size(); }

 private:
  struct State {
    uint64_t next_id = 0;
    std::map<uint64_t, std::shared_ptr<Fn>> fns;
  };
  class Handle : public Subscription {
   public:
    Handle(std::weak_ptr<State> s, uint64_t id) : state_(std::move(s)), id_(id) {}
    ~Handle() override {
      if (auto s = state_.lock()) s->fns.erase(id_);
    }

   private:
    std::weak_ptr<State> state_;
    uint64_t id_;
  };
  std::shared_ptr<State> state_;
};

}  // namespace zlh::agent::sdk
