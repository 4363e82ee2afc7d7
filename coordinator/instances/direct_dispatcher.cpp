#include "coordinator/instances/direct_dispatcher.h"

#include <spdlog/spdlog.h>

namespace zlh::coordinator::instances {
namespace {
using proto::ErrorCode;
using store::OperationState;
}  // namespace

DirectDispatcher::DirectDispatcher(store::Store& store, gateway::NodeLinks& links,
                                   OperationRecorder& recorder, JobTimeouts timeouts)
    : store_(store), links_(links), recorder_(recorder), timeouts_(timeouts) {}

std::string DirectDispatcher::offlineReason(const std::string& node_id) {
  auto node = store_.getNode(node_id);
  if (!node && node.error().code == ErrorCode::kNotFound)
    return "node " + node_id + " does not exist any more";
  return "node " + node_id + " is offline; the job is sent when it connects";
}

void DirectDispatcher::submit(const store::Operation& op) {
  if (links_.isOnline(op.node_id))
    send(op);
  else
    park(op, offlineReason(op.node_id));
}

void DirectDispatcher::resume() {
  auto ops = store_.listUnfinishedOperations(std::nullopt);
  if (!ops) {
    spdlog::error("resuming operations failed: {}", ops.error().message);
    return;
  }
  if (!ops->empty()) spdlog::info("resuming {} unfinished operation(s)", ops->size());
  for (const auto& op : *ops) submit(op);
}

void DirectDispatcher::onNodeReady(const std::string& node_id) {
  auto ops = store_.listUnfinishedOperations(node_id);
  if (!ops) {
    spdlog::error("node {}: listing its operations failed: {}", node_id, ops.error().message);
    return;
  }
  if (!ops->empty())
    spdlog::info("node {} is online: sending {} operation(s)", node_id, ops->size());
  for (const auto& op : *ops) send(op);  // oldest first, in order on the one link
}

void DirectDispatcher::park(const store::Operation& op, const std::string& why) {
  in_flight_.erase(op.id);
  auto marked = store_.markOperation(op.id, OperationState::kWaiting,
                                     proto::makeError(ErrorCode::kUnavailable, why), false);
  if (!marked)
    spdlog::error("operation {}: marking it waiting failed: {}", op.id, marked.error().message);
  else if (*marked)
    spdlog::info("operation {} ({}) waiting: {}", op.id, store::toString(op.kind), why);
}

void DirectDispatcher::send(const store::Operation& op) {
  auto marked = store_.markOperation(op.id, OperationState::kRunning, std::nullopt, true);
  if (!marked) {
    // Left as it is: it is sent again at the node's next hello or the next start.
    spdlog::error("operation {}: marking it running failed: {}", op.id, marked.error().message);
    return;
  }
  if (!*marked) return;  // finished meanwhile
  uint64_t attempt = next_attempt_++;
  in_flight_[op.id] = attempt;
  gateway::JobRequest req = jobFor(op, timeouts_);
  spdlog::debug("operation {}: job {} ({}) to node {}", op.id, req.job_id, req.kind, op.node_id);
  links_.dispatchJob(std::move(req), [this, op, attempt](proto::Result<gateway::JobOutcome> out) {
    onAnswer(op, attempt, std::move(out));
  });
}

void DirectDispatcher::onAnswer(const store::Operation& op, uint64_t attempt,
                                proto::Result<gateway::JobOutcome> out) {
  auto it = in_flight_.find(op.id);
  if (it == in_flight_.end() || it->second != attempt) return;  // a newer attempt is out
  in_flight_.erase(it);
  // The gateway answers `unavailable` when the link is gone; the node then is offline. An agent
  // answering `unavailable` itself (node still online) is a real failure of the job.
  if (!out && out.error().code == ErrorCode::kUnavailable && !links_.isOnline(op.node_id)) {
    park(op, "node " + op.node_id + ": " + out.error().message +
                 "; the job is sent again when it reconnects");
    return;
  }
  recorder_.finish(op, out);
}

}  // namespace zlh::coordinator::instances
