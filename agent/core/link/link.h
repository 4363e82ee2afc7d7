#pragma once
// The link logic (loop thread): dial, hello, welcome within 10 s, redial with jittered backoff,
// bad-message accounting, and the outbox of job results and events that waits for the next
// welcome. The transport carries bytes; this decides what they mean.
#include <chrono>
#include <deque>
#include <functional>
#include <string>
#include <string_view>

#include "agent/core/link/backoff.h"
#include "agent/core/link/outbox.h"
#include "agent/core/loop/event_loop.h"
#include "agent/core/metrics/agent_metrics.h"
#include "agent/core/streams/stream_router.h"
#include "agent/core/transport/transport.h"
#include "proto/v1/codec.h"

namespace zlh::agent::core {

class Link : public LinkHandler {
 public:
  struct Options {
    std::chrono::milliseconds backoff_initial{500};
    std::chrono::milliseconds backoff_max{30000};
    std::chrono::milliseconds dial_timeout{15000};     // dial -> WebSocket open
    std::chrono::milliseconds welcome_timeout{10000};  // hello -> welcome
    size_t bad_limit = 10;                             // more than this many bad messages...
    std::chrono::milliseconds bad_window{60000};       // ...within this window drops the link
    size_t max_queued_events = 1000;
  };
  enum class State { kIdle, kDialing, kHandshake, kConnected, kBackoff, kStopped };
  using HelloBuilder = std::function<proto::Hello()>;
  using JobHandler = std::function<void(const proto::JobStart&)>;

  Link(EventLoop& loop, AgentMetrics& metrics, Options options, HelloBuilder hello,
       JobHandler on_job);
  ~Link() override;

  void setTransport(Transport* transport) { transport_ = transport; }
  /// Where stream.* messages and binary frames go; every stream ends when the link drops.
  void setStreams(StreamRouter* streams) { streams_ = streams; }
  /// For the stream router: text and binary toward the coordinator on the current link (dropped
  /// when there is none).
  void sendText(std::string text) { sendNow(std::move(text)); }
  void sendBinary(std::string bytes);
  /// First dial.
  void start();
  /// Closes the link (1001 going away) and runs `done` once it is closed, or after `grace`.
  void stop(std::chrono::milliseconds grace, sdk::Task done);

  void sendJobDone(const proto::JobDone& done);
  void sendProgress(const proto::JobProgress& progress);
  /// An encoded event envelope (see encodeEvent).
  void sendEvent(std::string encoded);

  State state() const { return state_; }
  /// "connected" | "connecting" | "backoff" (healthz).
  std::string_view stateName() const;

  void onLinkOpen(uint64_t link) override;
  void onLinkText(uint64_t link, std::string text) override;
  void onLinkRejected(uint64_t link, std::string why) override;
  void onLinkBinary(uint64_t link, std::string bytes) override;
  void onLinkClosed(uint64_t link, LinkClosed info) override;

 private:
  void dial();
  void linkDown(const std::string& why, DialResult outcome);
  void scheduleRedial();
  void badMessage(const std::string& code, const std::string& message, const std::string& ref);
  void handleWelcome(const proto::Envelope& env);
  void handleMessage(const proto::Envelope& env);
  void sendNow(std::string text);
  template <class T>
  void sendMessage(const T& msg) {
    sendNow(proto::encode(msg));
  }

  EventLoop& loop_;
  AgentMetrics& metrics_;
  Options options_;
  HelloBuilder hello_;
  JobHandler on_job_;
  Transport* transport_ = nullptr;
  StreamRouter* streams_ = nullptr;
  Backoff backoff_;
  Outbox outbox_;
  State state_ = State::kIdle;
  uint64_t link_ = 0;    // current link id; 0 = none
  sdk::TimerPtr timer_;  // dial, welcome or redial timer (one at a time)
  std::deque<std::chrono::steady_clock::time_point> bad_;
  sdk::Task stop_done_;
  sdk::TimerPtr stop_timer_;
};

}  // namespace zlh::agent::core
