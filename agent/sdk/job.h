#pragma once
/// @file
/// A job as a plugin sees it, and the one-shot reply it must send back.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "agent/sdk/result.h"

namespace zlh::agent::sdk {

/// State shared between the core and a running job: progress reports go out through it and the
/// core raises `cancelled` when it stops waiting (deadline passed, agent stopping). Thread-safe.
class JobSignals {
 public:
  using ProgressSink = std::function<void(std::optional<double> percent, std::string message)>;
  explicit JobSignals(ProgressSink sink = {}) : sink_(std::move(sink)) {}

  void progress(std::optional<double> percent, std::string message) const {
    if (sink_ && !cancelled()) sink_(percent, std::move(message));
  }
  void cancel() { cancelled_.store(true, std::memory_order_relaxed); }
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }

 private:
  ProgressSink sink_;
  std::atomic<bool> cancelled_{false};
};

/// One `job.start` from the coordinator, routed to the plugin that owns `kind`.
struct Job {
  std::string job_id;
  std::string kind;                        ///< "<plugin>.<verb>", e.g. "system.info"
  std::optional<std::string> instance_id;  ///< set for jobs about one instance
  nlohmann::json params = nlohmann::json::object();
  /// When the coordinator stops waiting; the core answers `deadline_exceeded` then.
  std::optional<std::chrono::system_clock::time_point> deadline;
  std::shared_ptr<JobSignals> signals;  ///< set by the core; may be null in hand-made jobs

  /// Sends `job.progress` (percent 0..100 when known). Any thread; dropped once the job is over.
  void progress(std::optional<double> percent, std::string message) const {
    if (signals) signals->progress(percent, std::move(message));
  }
  /// True once the core no longer waits for this job: stop early, the reply will be ignored.
  bool cancelled() const { return signals && signals->cancelled(); }
};

/// The answer channel of one job. Move-only; call it exactly once, from any thread, with the
/// job's result (a JSON value, usually an object) or an Error. The core ignores (and logs) a
/// second answer and an answer after the deadline. A reply destroyed without being called
/// answers `internal: plugin dropped the job without replying`, so a job cannot hang silently.
class JobReply {
 public:
  using Fn = std::function<void(Result<nlohmann::json>)>;

  JobReply() = default;
  explicit JobReply(Fn fn) : state_(std::make_shared<State>()) { state_->fn = std::move(fn); }
  JobReply(JobReply&&) noexcept = default;
  JobReply& operator=(JobReply&& other) noexcept {
    if (this != &other) {
      dropCheck();
      state_ = std::move(other.state_);
    }
    return *this;
  }
  JobReply(const JobReply&) = delete;
  JobReply& operator=(const JobReply&) = delete;
  ~JobReply() { dropCheck(); }

  /// Delivers the result. Every call reaches the core, which keeps only the first.
  void operator()(Result<nlohmann::json> result) const {
    if (!state_ || !state_->fn) return;
    state_->answered.store(true);
    state_->fn(std::move(result));
  }
  /// False for a default-constructed or moved-from reply.
  bool valid() const { return state_ && state_->fn; }

 private:
  struct State {
    Fn fn;
    std::atomic<bool> answered{false};
  };
  void dropCheck() {
    if (state_ && state_->fn && !state_->answered.exchange(true))
      state_->fn(makeError(ErrorCode::kInternal, "plugin dropped the job without replying"));
  }

  std::shared_ptr<State> state_;
};

}  // namespace zlh::agent::sdk
