#pragma once
// The thin Dispatcher: sends an operation's job over the gateway's job path right away when its
// node is online, else parks it as `waiting` (error says why) and sends it when the node's link
// comes back (hello). A job lost with a link (the gateway answers `unavailable` and the node is
// offline) parks the operation again. At start, every unfinished operation is parked until its
// node connects. Jobs are re-sent with the same job id (the operation id), so the agent answers
// a finished one from its record and does not start a running one twice.
// Not durable beyond that: no leases, no retry of failures, one coordinator (the queue issue
// replaces this class behind Dispatcher). Logic thread.
#include <cstdint>
#include <string>
#include <unordered_map>

#include "coordinator/gateway/node_links.h"
#include "coordinator/instances/dispatcher.h"
#include "coordinator/instances/operation_jobs.h"
#include "coordinator/instances/operation_recorder.h"
#include "coordinator/store/store.h"

namespace zlh::coordinator::instances {

class DirectDispatcher final : public Dispatcher {
 public:
  DirectDispatcher(store::Store& store, gateway::NodeLinks& links, OperationRecorder& recorder,
                   JobTimeouts timeouts = {});

  void submit(const store::Operation& op) override;
  void resume() override;
  void onNodeReady(const std::string& node_id) override;

  /// Operations whose job is out and unanswered (tests).
  size_t inFlight() const { return in_flight_.size(); }

 private:
  void send(const store::Operation& op);
  void park(const store::Operation& op, const std::string& why);
  void onAnswer(const store::Operation& op, uint64_t attempt,
                proto::Result<gateway::JobOutcome> out);
  std::string offlineReason(const std::string& node_id);

  store::Store& store_;
  gateway::NodeLinks& links_;
  OperationRecorder& recorder_;
  JobTimeouts timeouts_;
  // Operation id -> the attempt whose answer counts; answers of older attempts (a link that
  // was replaced while the job was out) are ignored.
  std::unordered_map<std::string, uint64_t> in_flight_;
  uint64_t next_attempt_ = 1;
};

}  // namespace zlh::coordinator::instances
