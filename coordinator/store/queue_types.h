#pragma once
// Durable job queues as the store keeps them (ARCHITECTURE.md section 5, docs/queues.md).
// Engine-neutral: no SQL types here.
//
// A job is `available` until a worker claims it; the claim makes it `running` under a lease
// (owner + expiry) and counts an attempt. Every later write by that worker is fenced by
// (state running, attempt, lease owner): once the lease expired and the job was handed to
// someone else, the old worker's heartbeat, retry or completion changes nothing. Final states:
// succeeded, failed (a permanent error, or discarded after max attempts), cancelled.
// A job carrying an operation moves the operation with it in the same transaction: claimed ->
// running (attempts = the job's attempt), retried or released -> queued / waiting, finished ->
// the operation's outcome (OperationOutcome) applied once.
#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "coordinator/common/time_format.h"
#include "coordinator/store/instance_types.h"
#include "proto/v1/error.h"
#include "proto/v1/result.h"

namespace zlh::coordinator::store {

enum class QueueName { kProvisioning, kRepair, kBillingEnforcement };
std::string_view toString(QueueName queue);
std::optional<QueueName> parseQueueName(std::string_view text);
const std::vector<QueueName>& allQueueNames();

enum class JobState { kAvailable, kRunning, kSucceeded, kFailed, kCancelled };
std::string_view toString(JobState state);
std::optional<JobState> parseJobState(std::string_view text);
const std::vector<JobState>& allJobStates();
/// succeeded, failed and cancelled are final.
bool isFinal(JobState state);

/// Attempts before a job that keeps failing (or keeps losing its worker) is discarded.
inline constexpr int64_t kDefaultMaxAttempts = 5;

struct Job {
  std::string id;  // jb_...
  QueueName queue = QueueName::kProvisioning;
  std::string kind;                         // e.g. "instance.create", "billing.enforce"
  std::optional<std::string> operation_id;  // the operation it carries out, if any
  std::optional<std::string> node_id;       // runs only where this node's link is; none: anywhere
  nlohmann::json payload = nlohmann::json::object();
  JobState state = JobState::kAvailable;
  int64_t attempt = 0;   // claims so far (the fence: each claim gets a new number)
  int64_t failures = 0;  // failed attempts and lost leases (drive backoff and discard)
  int64_t max_attempts = kDefaultMaxAttempts;
  Time run_at;  // not claimable before
  std::optional<std::string> lease_owner;
  std::optional<Time> lease_expires_at;
  std::optional<Time> started_at;   // the current (or last) claim
  std::optional<Time> deadline_at;  // started_at + the kind's run timeout: overdue after it
  std::optional<proto::Error> last_error;
  Time created_at;
  Time updated_at;
  std::optional<Time> finished_at;
};

/// A job to enqueue on its own (operation jobs are written by createInstance / startOperation).
struct NewJob {
  QueueName queue = QueueName::kProvisioning;
  std::string kind;
  std::optional<std::string> node_id;
  nlohmann::json payload = nlohmann::json::object();
  int64_t max_attempts = kDefaultMaxAttempts;
  std::optional<Time> run_at;  // none: now
};

/// Who may write a claimed job: the claim's attempt and owner, while it is still running.
struct Fence {
  std::string job_id;
  int64_t attempt = 0;
  std::string owner;
};
inline Fence fenceOf(const Job& job) {
  return Fence{job.id, job.attempt, job.lease_owner.value_or("")};
}

struct ClaimRequest {
  QueueName queue = QueueName::kProvisioning;
  std::string owner;  // the claiming coordinator (its lease-owner id)
  std::chrono::milliseconds lease{30000};
  int64_t limit = 1;
  /// Only jobs bound to one of these nodes, and jobs bound to none. Jobs for nodes not listed
  /// stay for the coordinator that holds their link (docs/queues.md).
  std::vector<std::string> node_ids;
  /// How long a claimed job may run before it is overdue, by job kind; `run_timeout` otherwise.
  /// The claim sets the job's (and its operation's) deadline from it.
  std::map<std::string, std::chrono::milliseconds> run_timeouts;
  std::chrono::milliseconds run_timeout{std::chrono::minutes(10)};
};

/// How a fenced write ended: applied, or refused because the caller no longer holds the job.
enum class FenceResult { kApplied, kLost };

/// One job's end for Store::completeJobs: succeeded or failed (with its error), and the outcome
/// to apply to its operation, if it carries one.
struct JobCompletion {
  Fence fence;
  JobState state = JobState::kSucceeded;
  std::optional<proto::Error> error;
  std::optional<OperationOutcome> outcome;
};
/// InvalidArgument unless every state is succeeded or failed (cancel is cancelOperation's).
proto::Status checkCompletions(const std::vector<JobCompletion>& jobs);

/// Expired leases the sweeper handed back, and those it could not (out of attempts): the
/// latter are still running under their dead lease, for the caller to fail with the
/// operation's failure outcome (completeJob with fenceOf(job)).
struct SweepResult {
  std::vector<Job> returned;
  std::vector<Job> exhausted;
};

/// What a coordinator's earlier runs still held when it started again (retirePredecessors).
struct RetiredLeases {
  int64_t links = 0;  // node link leases cleared
  int64_t jobs = 0;   // job leases expired for the sweeper
};

/// A lease owner id: the coordinator's identity (stable across its restarts) and a random run
/// part, so a restarted coordinator can tell its own earlier runs' leases from its peers'.
std::string leaseOwner(const std::string& identity, const std::string& run);
/// The owner prefix every run of `identity` shares.
std::string leaseOwnerPrefix(const std::string& identity);

/// One queue's backlog for /metrics and /healthz.
struct QueueStats {
  QueueName queue = QueueName::kProvisioning;
  std::map<JobState, int64_t> jobs;          // by state (every state, 0 when none)
  std::optional<Time> oldest_available_at;   // run_at of the oldest claimable-now-or-later job
  std::optional<Time> oldest_running_since;  // started_at of the oldest running job
  int64_t overdue = 0;                       // running past their deadline
};

/// The id of the job carrying an operation: "jb_" + the operation id's random part (so the
/// migration that gave earlier operations their jobs names them the same way).
std::string jobIdOfOperation(const std::string& operation_id);
/// The claim's run timeouts by kind as a JSON object of milliseconds, for the engines' claim
/// statements (a kind not in it gets `run_timeout`).
std::string runTimeoutsJson(const ClaimRequest& request);

/// What markWaitingOperations does to an operation (state "queued" or "waiting") whose job is
/// available on `node_id`: queued -> waiting (with the reason) when the node is gone or has no
/// live link; waiting -> queued when its link is live again; none when nothing changes.
std::optional<std::pair<OperationState, std::optional<proto::Error>>> waitingTransition(
    std::string_view op_state, const std::string& node_id, bool node_exists, bool link_live);

/// The error a job whose lease expired goes back with.
proto::Error leaseExpired(const Job& job);
/// The sweeper's record of a job it handed back at `now` (what the row now holds).
void markReturned(Job& job, const proto::Error& error, Time now);

/// Finished jobs are kept this long, then pruned (docs/queues.md).
inline constexpr int64_t kFinishedJobRetentionMs = 7LL * 24 * 3600 * 1000;

}  // namespace zlh::coordinator::store
