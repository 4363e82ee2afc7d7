#pragma once
// The durable Dispatcher: workers over the store's job queues (docs/queues.md).
//
// Every operation is written with its job (queue provisioning, bound to the instance's node) in
// the API's transaction. This class claims jobs with a lease, only for nodes whose link this
// coordinator holds (and unbound jobs), up to a concurrency per queue; heartbeats the leases it
// holds; sends an operation's job over the link (job id = operation id, so a re-sent job is
// answered from the agent's record and never runs twice) and records the answer with a fenced
// completion that applies the operation's outcome once. Failures that may pass (unavailable,
// timeouts, internal errors) are retried with capped exponential backoff and full jitter, and
// discarded after the job's max attempts with the last error; permanent ones fail at once. A
// job whose link drops mid-run is released (not counted as a failure) and waits for the node.
// A sweeper returns expired leases (a worker or coordinator died) and fails jobs out of
// attempts; it also marks operations `waiting` while their node has no live link anywhere.
// Finished jobs and old idempotency keys are pruned on a schedule.
// Node link leases: the coordinator holding a node's link records it in the store (at hello, then
// renewed every third of link_ttl), so every coordinator knows which nodes are online somewhere.
// Logic thread.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "coordinator/common/executor.h"
#include "coordinator/common/metrics.h"
#include "coordinator/gateway/node_links.h"
#include "coordinator/instances/dispatcher.h"
#include "coordinator/instances/operation_jobs.h"
#include "coordinator/store/store.h"

namespace zlh::coordinator::instances {

struct QueueOptions {
  // This coordinator's identity, stable across its restarts (host and listen address), and its
  // lease-owner id (store::leaseOwner(identity, a random run part): unique per process run).
  // At resume, leases of earlier runs of the same identity are retired: a coordinator killed and
  // started again neither shows its nodes online before they link again nor leaves its jobs
  // waiting out their leases.
  std::string identity;
  std::string owner;
  std::chrono::milliseconds lease{std::chrono::seconds(30)};
  std::chrono::milliseconds heartbeat{std::chrono::seconds(10)};
  std::chrono::milliseconds poll{std::chrono::seconds(1)};   // claim when nothing woke us
  std::chrono::milliseconds sweep{std::chrono::seconds(5)};  // expired leases, waiting marks
  std::chrono::milliseconds link_ttl{std::chrono::seconds(20)};
  std::chrono::milliseconds retry_base{std::chrono::seconds(1)};
  std::chrono::milliseconds retry_cap{std::chrono::minutes(5)};
  std::chrono::milliseconds prune_every{std::chrono::hours(1)};
  std::chrono::milliseconds finished_retention{store::kFinishedJobRetentionMs};
  std::map<store::QueueName, int> concurrency{{store::QueueName::kProvisioning, 32},
                                              {store::QueueName::kRepair, 4},
                                              {store::QueueName::kBillingEnforcement, 4}};
  JobTimeouts timeouts;
};

/// A job without an operation (repair, billing enforcement): `done` once with the result.
using JobHandler = std::function<void(const store::Job& job,
                                      std::function<void(proto::Result<nlohmann::json>)> done)>;

class QueueWorker final : public Dispatcher {
 public:
  QueueWorker(store::Store& store, gateway::NodeLinks& links, common::Executor& executor,
              common::Metrics& metrics, QueueOptions options,
              std::function<common::Time()> clock = [] { return common::now(); });
  ~QueueWorker() override;

  void submit(const store::Operation& op) override;
  /// Retires earlier runs' leases, then starts the timers; the first sweep and claim run at once.
  void resume() override;
  void onNodeReady(const std::string& node_id) override;
  void onNodeGone(const std::string& node_id) override;
  /// Stops claiming and gives back the jobs held (no failure counted), so the next coordinator
  /// (or this one restarted) takes them up without waiting for their leases to expire.
  void shutdown();

  void setHandler(const std::string& kind, JobHandler handler);

  /// Runs one pass of each loop now (tests).
  void claimNow();
  void sweepNow();
  void heartbeatNow();
  void pruneNow();
  /// Jobs this worker holds (tests, shutdown).
  size_t held() const { return held_.size(); }
  /// The delay before attempt `failures + 1` runs again: min(cap, base * 2^failures), full
  /// jitter (uniform in [1 ms, that]) when `jitter`.
  static std::chrono::milliseconds backoff(const QueueOptions& o, int64_t failures, bool jitter);

 private:
  struct Held {
    store::Job job;
    std::optional<store::Operation> op;
    std::chrono::steady_clock::time_point started;
  };
  void kick();
  void start(store::Job job);
  void onAnswer(const std::string& job_id, int64_t attempt, proto::Result<nlohmann::json> out,
                bool via_link);
  /// Queues the job's completion; the queue is written in one transaction once the answers
  /// waiting on the logic thread are handled (group commit: one commit for a burst of answers).
  void finish(const Held& h, store::JobState state, const std::optional<proto::Error>& error,
              const proto::Result<nlohmann::json>& answer);
  void flushCompletions();
  void discard(const store::Job& job, const std::optional<store::Operation>& op,
               const proto::Error& last);
  void renewLinks();
  int heldIn(store::QueueName queue) const;
  void schedule(std::shared_ptr<common::Timer>& slot, std::chrono::milliseconds every,
                void (QueueWorker::*fn)());
  void tick();
  void sweepTick();
  void heartbeatTick();
  void pruneTick();

  store::Store& store_;
  gateway::NodeLinks& links_;
  common::Executor& executor_;
  common::Metrics& metrics_;
  QueueOptions options_;
  std::function<common::Time()> clock_;
  std::map<std::string, JobHandler> handlers_;
  std::unordered_map<std::string, Held> held_;  // job id -> the claim
  struct Completing {
    store::JobCompletion completion;
    std::string what;  // for the log line: "<kind> of <instance>" or the job's kind
  };
  std::vector<Completing> completing_;  // answered, not yet written
  bool flush_posted_ = false;
  bool running_ = false;
  bool kick_posted_ = false;
  std::optional<common::Time> links_renewed_at_;  // the last renewal of every held link
  std::shared_ptr<common::Timer> tick_timer_, sweep_timer_, heartbeat_timer_, prune_timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace zlh::coordinator::instances
