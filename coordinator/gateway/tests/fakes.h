#pragma once
// Test doubles for the gateway: a manual clock/executor and a recording transport.
#include <map>
#include <memory>
#include <vector>

#include "coordinator/common/executor.h"
#include "coordinator/gateway/gateway.h"

namespace zlh::coordinator::gateway::testing {

class ManualExecutor final : public common::Executor {
 public:
  struct T final : common::Timer {
    std::chrono::steady_clock::time_point due;
    std::function<void()> fn;
    void cancel() override { fn = nullptr; }
  };
  void post(std::function<void()> fn) override { fn(); }
  std::shared_ptr<common::Timer> runAfter(std::chrono::milliseconds d, std::function<void()> fn) override {
    auto t = std::make_shared<T>();
    t->due = now_ + d;
    t->fn = std::move(fn);
    timers_.push_back(t);
    return t;
  }
  std::chrono::steady_clock::time_point steadyNow() const override { return now_; }
  void advance(std::chrono::milliseconds d) {
    now_ += d;
    auto timers = timers_;
    for (auto& t : timers) {
      if (t->fn && t->due <= now_) {
        auto fn = std::move(t->fn);
        t->fn = nullptr;
        fn();
      }
    }
  }

 private:
  std::chrono::steady_clock::time_point now_{};
  std::vector<std::shared_ptr<T>> timers_;
};

class RecordingTransport final : public LinkTransport {
 public:
  void sendText(LinkId link, std::string text) override { sent[link].push_back(std::move(text)); }
  void sendBinary(LinkId link, std::string bytes) override {
    binary[link].push_back(std::move(bytes));
  }
  void close(LinkId link, uint16_t code, std::string reason) override {
    closed[link] = {code, std::move(reason)};
  }
  std::map<LinkId, std::vector<std::string>> sent;
  std::map<LinkId, std::vector<std::string>> binary;
  std::map<LinkId, std::pair<uint16_t, std::string>> closed;
};

}  // namespace zlh::coordinator::gateway::testing
