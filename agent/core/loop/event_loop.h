#pragma once
// The agent's one event loop (a boost::asio::io_context run on the calling thread) plus a bounded
// thread pool for blocking work. Asio stays inside event_loop.cpp: everything else sees this.
#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "agent/sdk/plugin_context.h"
#include "agent/sdk/task.h"

namespace boost::asio {
class io_context;
}

namespace zlh::agent::core {

class EventLoop {
 public:
  /// `pool_threads` threads run runBlocking() work (at least 1).
  explicit EventLoop(size_t pool_threads = 2);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  /// Runs `fn` on the loop thread. Thread-safe.
  void post(sdk::Task fn);
  /// Runs `fn` on the loop after `delay` unless the handle is cancelled or destroyed first.
  /// Call on the loop thread.
  sdk::TimerPtr after(std::chrono::milliseconds delay, sdk::Task fn);
  /// Runs `fn` on the pool. Thread-safe.
  void runBlocking(sdk::Task fn);
  /// Calls `fn(signal)` on the loop for each of these signals (e.g. SIGTERM, SIGINT).
  void onSignals(const std::vector<int>& signals, std::function<void(int)> fn);

  /// Runs the loop on this thread until stop().
  void run();
  /// Makes run() return soon. Thread-safe.
  void stop();
  /// For tests: runs until `done()` is true or `timeout` passes; returns done().
  bool runUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout);
  /// Stops the pool: work already running finishes, queued work is dropped (idempotent).
  void joinPool();
  /// The loop's io_context, for core .cpp files that drive Asio objects on it (shim sockets).
  boost::asio::io_context& io();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace zlh::agent::core
