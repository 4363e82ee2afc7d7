#include "coordinator/store/queue_types.h"

#include "proto/v1/result.h"

namespace zlh::coordinator::store {

std::string_view toString(QueueName queue) {
  switch (queue) {
    case QueueName::kProvisioning:
      return "provisioning";
    case QueueName::kRepair:
      return "repair";
    case QueueName::kBillingEnforcement:
      return "billing_enforcement";
  }
  return "provisioning";
}

std::optional<QueueName> parseQueueName(std::string_view text) {
  for (auto q : allQueueNames())
    if (toString(q) == text) return q;
  return std::nullopt;
}

const std::vector<QueueName>& allQueueNames() {
  static const std::vector<QueueName> names{QueueName::kProvisioning, QueueName::kRepair,
                                            QueueName::kBillingEnforcement};
  return names;
}

std::string_view toString(JobState state) {
  switch (state) {
    case JobState::kAvailable:
      return "available";
    case JobState::kRunning:
      return "running";
    case JobState::kSucceeded:
      return "succeeded";
    case JobState::kFailed:
      return "failed";
    case JobState::kCancelled:
      return "cancelled";
  }
  return "available";
}

std::optional<JobState> parseJobState(std::string_view text) {
  for (auto s : allJobStates())
    if (toString(s) == text) return s;
  return std::nullopt;
}

const std::vector<JobState>& allJobStates() {
  static const std::vector<JobState> states{JobState::kAvailable, JobState::kRunning,
                                            JobState::kSucceeded, JobState::kFailed,
                                            JobState::kCancelled};
  return states;
}

bool isFinal(JobState state) {
  return state != JobState::kAvailable && state != JobState::kRunning;
}

std::string jobIdOfOperation(const std::string& operation_id) {
  return "jb_" + (operation_id.rfind("op_", 0) == 0 ? operation_id.substr(3) : operation_id);
}

proto::Status checkCompletions(const std::vector<JobCompletion>& jobs) {
  for (const auto& c : jobs)
    if (c.state != JobState::kSucceeded && c.state != JobState::kFailed)
      return proto::makeError(proto::ErrorCode::kInvalidArgument,
                              "completeJobs takes succeeded or failed");
  return {};
}

std::string leaseOwnerPrefix(const std::string& identity) { return identity + "#"; }

std::string leaseOwner(const std::string& identity, const std::string& run) {
  return leaseOwnerPrefix(identity) + run;
}

std::string runTimeoutsJson(const ClaimRequest& request) {
  nlohmann::json timeouts = nlohmann::json::object();
  for (const auto& [kind, timeout] : request.run_timeouts) timeouts[kind] = timeout.count();
  return timeouts.dump();
}

proto::Error leaseExpired(const Job& job) {
  return proto::makeError(proto::ErrorCode::kUnavailable,
                          "the lease of attempt " + std::to_string(job.attempt) +
                              " expired (its worker stopped answering)");
}

void markReturned(Job& job, const proto::Error& error, Time now) {
  job.state = JobState::kAvailable;
  job.failures += 1;
  job.run_at = job.updated_at = common::fromUnixMs(common::toUnixMs(now));
  job.lease_owner.reset();
  job.lease_expires_at.reset();
  job.last_error = error;
}

std::optional<std::pair<OperationState, std::optional<proto::Error>>> waitingTransition(
    std::string_view op_state, const std::string& node_id, bool node_exists, bool link_live) {
  using Out = std::pair<OperationState, std::optional<proto::Error>>;
  if (op_state == "queued" && !link_live) {
    std::string why = node_exists
                          ? "node " + node_id + " is offline; the job runs when it connects"
                          : "node " + node_id + " does not exist any more; cancel the operation";
    return Out{OperationState::kWaiting, proto::makeError(proto::ErrorCode::kUnavailable, why)};
  }
  if (op_state == "waiting" && link_live) return Out{OperationState::kQueued, std::nullopt};
  return std::nullopt;
}

}  // namespace zlh::coordinator::store
