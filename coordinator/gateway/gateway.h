#pragma once
// The agent gateway: one link per node, hello validation, welcome, job dispatch, liveness
// bookkeeping. Runs on the logic thread; talks to the network through LinkTransport.
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "coordinator/common/executor.h"
#include "coordinator/common/metrics.h"
#include "coordinator/common/ws_transport.h"
#include "coordinator/gateway/agent_event_sink.h"
#include "coordinator/gateway/node_links.h"
#include "coordinator/gateway/node_streams.h"
#include "coordinator/store/store.h"
#include "proto/v1/codec.h"

namespace zlh::coordinator::gateway {

using LinkId = uint64_t;

/// Close codes of the agent link (docs/api.md).
enum CloseCode : uint16_t {
  kCloseNormal = 1000,
  kCloseGoingAway = 1001,
  kCloseInternal = 1011,
  kCloseNodeMismatch = 4003,
  kCloseReplaced = 4008,
  kCloseNodeDeleted = 4009,
  kCloseProtocolError = 4400,
};

/// Agent links are WebSockets of the network module.
using LinkTransport = common::WsTransport;

struct GatewayOptions {
  uint32_t ping_interval_s = 20;  // told to agents in welcome
  std::chrono::milliseconds hello_timeout{10000};
  size_t max_bad_messages = 10;  // more than this within bad_message_window closes the link
  std::chrono::seconds bad_message_window{60};
  std::chrono::seconds touch_interval{30};  // last_seen writes at most this often per node
  proto::Limits limits;
};

class Gateway final : public NodeLinks, public NodeStreams {
 public:
  Gateway(store::Store& store, common::Metrics& metrics, common::Executor& executor,
          LinkTransport& transport, GatewayOptions options);
  ~Gateway() override;

  // Network events, on the logic thread. `node_id` is the token's node (checked at upgrade).
  void onLinkOpen(LinkId link, const std::string& peer, const std::string& node_id);
  void onLinkMessage(LinkId link, const std::string& data, bool binary);
  void onLinkPong(LinkId link);
  void onLinkClosed(LinkId link);

  /// Where ready links and agent events are reported (none: events are only logged).
  void setEventSink(AgentEventSink* sink) { sink_ = sink; }

  /// Closes every link with 1001 and fails waiting jobs (Unavailable).
  void shutdown();
  /// Links open at all (ready or still waiting for hello).
  size_t linkCount() const { return links_.size(); }

  bool isOnline(const std::string& node_id) const override;
  size_t onlineCount() const override { return ready_by_node_.size(); }
  std::vector<std::string> onlineNodeIds() const override;
  void dispatchJob(JobRequest request, JobCallback done) override;
  void dropNode(const std::string& node_id) override;

  proto::Result<StreamHandle> openStream(const StreamOpenRequest& request,
                                         StreamSink* sink) override;
  void closeStream(const StreamHandle& stream) override;
  size_t streamCount() const;

 private:
  struct Link {
    LinkId id = 0;
    std::string node_id;
    std::string peer;
    bool ready = false;    // hello accepted
    bool closing = false;  // we asked the network to close it
    std::shared_ptr<common::Timer> hello_timer;
    std::deque<std::chrono::steady_clock::time_point> bad;
    std::chrono::steady_clock::time_point last_touch{};
    std::map<uint32_t, StreamSink*> streams;
    uint32_t next_stream = 1;  // odd: the coordinator's ids
  };
  struct PendingJob {
    LinkId link = 0;
    std::string node_id;
    std::string job_id;
    std::string kind;
    JobCallback done;
    std::shared_ptr<common::Timer> timer;
  };

  void closeLink(Link& link, uint16_t code, const std::string& reason);
  void send(Link& link, const std::string& text);
  void badMessage(Link& link, const std::string& code, const std::string& message,
                  const std::string& ref);
  void handleHello(Link& link, const proto::Envelope& env);
  void handleJobDone(Link& link, const proto::Envelope& env);
  void touch(Link& link, bool force);
  void updateConnectedGauge();
  void finishJob(uint64_t waiter, proto::Result<JobOutcome> outcome, const char* result_label);
  void failJobsOfLink(LinkId link, const std::string& message);
  void handleStreamMessage(Link& link, const proto::Envelope& env);
  void handleStreamFrame(Link& link, const std::string& data);
  /// Ends every stream of the link (the sinks hear Unavailable).
  void endStreams(Link& link, const std::string& why);

  store::Store& store_;
  common::Metrics& metrics_;
  common::Executor& executor_;
  LinkTransport& transport_;
  GatewayOptions options_;
  bool shutting_down_ = false;
  AgentEventSink* sink_ = nullptr;

  std::unordered_map<LinkId, Link> links_;
  std::unordered_map<std::string, LinkId> ready_by_node_;
  uint64_t next_waiter_ = 1;
  std::map<uint64_t, PendingJob> jobs_;
  std::multimap<std::string, uint64_t> waiters_by_job_;  // node_id + '/' + job_id
};

}  // namespace zlh::coordinator::gateway
