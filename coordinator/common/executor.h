#pragma once
// The logic thread as seen by the parts: post work, run something later. Implemented over
// boost::asio in main (the only place that includes Asio); tests use a manual fake.
#include <chrono>
#include <functional>
#include <memory>

namespace zlh::coordinator::common {

class Timer {
 public:
  virtual ~Timer() = default;
  /// After cancel() the callback does not run (safe to call more than once or after it ran).
  virtual void cancel() = 0;
};

class Executor {
 public:
  virtual ~Executor() = default;
  /// Runs `fn` on the logic thread, after what is already queued. Thread-safe.
  virtual void post(std::function<void()> fn) = 0;
  /// Runs `fn` on the logic thread after `delay`. Call from the logic thread.
  virtual std::shared_ptr<Timer> runAfter(std::chrono::milliseconds delay,
                                          std::function<void()> fn) = 0;
  /// Monotonic clock of this executor (a fake one in tests).
  virtual std::chrono::steady_clock::time_point steadyNow() const = 0;
};

}  // namespace zlh::coordinator::common
