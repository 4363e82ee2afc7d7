#include "coordinator/instances/queue_worker.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

#include "coordinator/instances/operation_recorder.h"

namespace zlh::coordinator::instances {
namespace {
using proto::ErrorCode;
using store::FenceResult;
using store::JobState;

/// Errors worth another attempt: the node or the agent may be fine a moment later. The rest
/// (bad params, a missing template, a conflict) would fail the same way again.
bool retryable(ErrorCode code) {
  return code == ErrorCode::kUnavailable || code == ErrorCode::kDeadlineExceeded ||
         code == ErrorCode::kInternal;
}

proto::Result<gateway::JobOutcome> asJobOutcome(const std::string& job_id,
                                                const proto::Result<nlohmann::json>& answer) {
  if (!answer) return answer.error();
  return gateway::JobOutcome{job_id, *answer, false};
}
}  // namespace

QueueWorker::QueueWorker(store::Store& store, gateway::NodeLinks& links,
                         common::Executor& executor, common::Metrics& metrics,
                         QueueOptions options, std::function<common::Time()> clock)
    : store_(store),
      links_(links),
      executor_(executor),
      metrics_(metrics),
      options_(std::move(options)),
      clock_(std::move(clock)) {
  for (auto q : store::allQueueNames()) metrics_.declareQueue(store::toString(q));
}

QueueWorker::~QueueWorker() {
  *alive_ = false;
  for (auto* t : {&tick_timer_, &sweep_timer_, &heartbeat_timer_, &prune_timer_})
    if (*t) (*t)->cancel();
}

std::chrono::milliseconds QueueWorker::backoff(const QueueOptions& o, int64_t failures,
                                               bool jitter) {
  int64_t ms = o.retry_base.count();
  for (int64_t i = 0; i < failures && ms < o.retry_cap.count(); ++i) ms *= 2;
  ms = std::min<int64_t>(ms, o.retry_cap.count());
  if (!jitter || ms <= 0) return std::chrono::milliseconds(ms);
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::chrono::milliseconds(std::uniform_int_distribution<int64_t>(1, ms)(rng));
}

void QueueWorker::setHandler(const std::string& kind, JobHandler handler) {
  handlers_[kind] = std::move(handler);
}

void QueueWorker::submit(const store::Operation& op) {
  kick();
  // Not linked here: say now (in the API's answer) if it is linked nowhere.
  if (!links_.isOnline(op.node_id))
    if (auto m = store_.markWaitingOperations(clock_()); !m)
      spdlog::warn("marking waiting operations failed: {}", m.error().message);
}

void QueueWorker::resume() {
  running_ = true;
  if (!options_.identity.empty()) {
    auto r = store_.retirePredecessors(options_.identity, options_.owner, clock_());
    if (!r)
      spdlog::warn("retiring the leases of this coordinator's earlier runs failed: {}",
                   r.error().message);
    else if (r->links || r->jobs)
      spdlog::info("an earlier run of this coordinator ended without giving back {} node link(s) "
                   "and {} job(s): released",
                   r->links, r->jobs);
  }
  sweepTick();
  heartbeatTick();
  pruneTick();
  tick();
}

void QueueWorker::onNodeReady(const std::string& node_id) {
  if (auto st = store_.holdNodeLinks(options_.owner, {node_id}, clock_() + options_.link_ttl); !st)
    spdlog::warn("node {}: recording its link failed: {}", node_id, st.error().message);
  kick();
}

void QueueWorker::onNodeGone(const std::string& node_id) {
  if (auto st = store_.releaseNodeLink(node_id, options_.owner); !st)
    spdlog::warn("node {}: clearing its link failed: {}", node_id, st.error().message);
}

void QueueWorker::shutdown() {
  running_ = false;
  flushCompletions();  // answered jobs are written, not given back
  for (auto* t : {&tick_timer_, &sweep_timer_, &heartbeat_timer_, &prune_timer_})
    if (*t) (*t)->cancel();
  auto now = clock_();
  auto why = proto::makeError(ErrorCode::kUnavailable,
                              "the coordinator running it shut down; it runs again");
  for (const auto& [id, h] : held_) {
    auto r = store_.releaseJob(store::fenceOf(h.job), why, now);
    if (!r) spdlog::warn("job {}: giving it back failed: {}", id, r.error().message);
  }
  if (!held_.empty()) spdlog::info("gave back {} running job(s)", held_.size());
  held_.clear();
  for (const auto& node : links_.onlineNodeIds()) onNodeGone(node);
}

void QueueWorker::kick() {
  if (!running_ || kick_posted_) return;
  kick_posted_ = true;
  executor_.post([this, alive = alive_] {
    if (!*alive) return;
    kick_posted_ = false;
    if (running_) claimNow();
  });
}

void QueueWorker::schedule(std::shared_ptr<common::Timer>& slot, std::chrono::milliseconds every,
                           void (QueueWorker::*fn)()) {
  if (!running_) return;
  slot = executor_.runAfter(every, [this, alive = alive_, fn] {
    if (*alive) (this->*fn)();
  });
}

void QueueWorker::tick() {
  renewLinks();
  claimNow();
  schedule(tick_timer_, options_.poll, &QueueWorker::tick);
}

void QueueWorker::sweepTick() {
  sweepNow();
  schedule(sweep_timer_, options_.sweep, &QueueWorker::sweepTick);
}

void QueueWorker::heartbeatTick() {
  heartbeatNow();
  schedule(heartbeat_timer_, options_.heartbeat, &QueueWorker::heartbeatTick);
}

void QueueWorker::pruneTick() {
  pruneNow();
  schedule(prune_timer_, options_.prune_every, &QueueWorker::pruneTick);
}

void QueueWorker::renewLinks() {
  // A third of the lease is plenty of margin; every poll would rewrite every linked node's row
  // several times a second for nothing (a new link is recorded at its hello, not here).
  auto now = clock_();
  if (links_renewed_at_ && now - *links_renewed_at_ < options_.link_ttl / 3) return;
  auto nodes = links_.onlineNodeIds();
  if (nodes.empty()) return;
  if (auto st = store_.holdNodeLinks(options_.owner, nodes, now + options_.link_ttl); !st) {
    spdlog::warn("renewing {} node link(s) failed: {}", nodes.size(), st.error().message);
    return;
  }
  links_renewed_at_ = now;
}

int QueueWorker::heldIn(store::QueueName queue) const {
  return static_cast<int>(std::count_if(held_.begin(), held_.end(),
                                        [queue](const auto& h) { return h.second.job.queue == queue; }));
}

void QueueWorker::claimNow() {
  auto now = clock_();
  auto nodes = links_.onlineNodeIds();
  for (auto q : store::allQueueNames()) {
    auto c = options_.concurrency.find(q);
    int free = (c == options_.concurrency.end() ? 1 : c->second) - heldIn(q);
    if (free <= 0) continue;
    store::ClaimRequest req;
    req.queue = q;
    req.owner = options_.owner;
    req.lease = options_.lease;
    req.limit = free;
    req.node_ids = nodes;
    req.run_timeouts[std::string(store::toString(store::OperationKind::kInstanceCreate))] =
        options_.timeouts.create;
    req.run_timeout = options_.timeouts.other;
    auto jobs = store_.claimJobs(req, now);
    if (!jobs) {
      spdlog::warn("queue {}: claiming failed: {}", store::toString(q), jobs.error().message);
      continue;
    }
    for (auto& j : *jobs) start(std::move(j));
  }
}

void QueueWorker::start(store::Job job) {
  std::string id = job.id;
  int64_t attempt = job.attempt;
  Held h{job, std::nullopt, executor_.steadyNow()};
  auto answer = [this, alive = alive_, id, attempt](proto::Result<nlohmann::json> out,
                                                    bool via_link) {
    if (*alive) onAnswer(id, attempt, std::move(out), via_link);
  };
  if (job.operation_id) {
    auto op = store_.getOperation(*job.operation_id);
    if (!op) {
      // Not held: its lease runs out and the sweeper gives it to the next claim.
      spdlog::error("job {}: reading operation {} failed: {}", id, *job.operation_id,
                    op.error().message);
      return;
    }
    h.op = *op;
    gateway::JobRequest req = jobFor(*op, options_.timeouts);
    spdlog::debug("job {} (attempt {}): {} {} to node {}", id, attempt, req.kind, req.job_id,
                  req.node_id);
    held_.emplace(id, std::move(h));
    links_.dispatchJob(std::move(req), [answer](proto::Result<gateway::JobOutcome> out) {
      if (out) answer(std::move(out->result), true);
      else answer(out.error(), true);
    });
    return;
  }
  auto handler = handlers_.find(job.kind);
  held_.emplace(id, std::move(h));
  if (handler == handlers_.end()) {
    onAnswer(id, attempt,
             proto::makeError(ErrorCode::kUnimplemented, "no worker handles jobs of kind " + job.kind),
             false);
    return;
  }
  handler->second(held_.at(id).job, [answer](proto::Result<nlohmann::json> out) {
    answer(std::move(out), false);
  });
}

void QueueWorker::onAnswer(const std::string& job_id, int64_t attempt,
                           proto::Result<nlohmann::json> out, bool via_link) {
  auto it = held_.find(job_id);
  if (it == held_.end() || it->second.job.attempt != attempt) return;  // lease lost meanwhile
  Held h = std::move(it->second);
  held_.erase(it);
  std::string queue(store::toString(h.job.queue));
  metrics_.observeJobDuration(
      queue, std::chrono::duration<double>(executor_.steadyNow() - h.started).count());
  auto now = clock_();
  auto fence = store::fenceOf(h.job);
  if (out) {
    finish(h, JobState::kSucceeded, std::nullopt, out);
  } else if (const auto& err = out.error(); via_link && err.code == ErrorCode::kUnavailable &&
                                            h.job.node_id && !links_.isOnline(*h.job.node_id)) {
    // The link went away with the job: not the job's failure. It runs where the node reconnects.
    auto why = proto::makeError(ErrorCode::kUnavailable,
                                "node " + *h.job.node_id + ": " + err.message +
                                    "; the job is sent again when it reconnects");
    auto r = store_.releaseJob(fence, why, now);
    if (!r) spdlog::error("job {}: giving it back failed: {}", job_id, r.error().message);
    else spdlog::info("job {} waits for node {}: {}", job_id, *h.job.node_id, err.message);
  } else if (retryable(err.code) && h.job.failures + 1 < h.job.max_attempts) {
    auto delay = backoff(options_, h.job.failures, true);
    auto r = store_.retryJob(fence, err, now + delay, now);
    if (!r) {
      spdlog::error("job {}: scheduling a retry failed: {}", job_id, r.error().message);
    } else if (*r == FenceResult::kApplied) {
      metrics_.incQueue("retries", queue);
      spdlog::info("job {} attempt {} failed ({}: {}); retry in {} ms", job_id, attempt,
                   proto::toWire(err.code), err.message, delay.count());
    }
  } else if (retryable(err.code)) {
    discard(h.job, h.op, err);
  } else {
    finish(h, JobState::kFailed, err, out);
  }
  kick();  // a slot is free
}

void QueueWorker::finish(const Held& h, JobState state, const std::optional<proto::Error>& error,
                         const proto::Result<nlohmann::json>& answer) {
  std::optional<store::OperationOutcome> outcome;
  if (h.op) outcome = operationOutcome(*h.op, asJobOutcome(h.op->id, answer));
  std::string what = h.op ? std::string(store::toString(h.op->kind)) + " of " + h.op->instance_id
                          : h.job.kind;
  completing_.push_back(
      Completing{{store::fenceOf(h.job), state, error, outcome}, std::move(what)});
  if (flush_posted_) return;
  flush_posted_ = true;
  executor_.post([this, alive = alive_] {
    if (*alive) flushCompletions();
  });
}

void QueueWorker::flushCompletions() {
  flush_posted_ = false;
  std::vector<Completing> batch;
  batch.swap(completing_);
  if (batch.empty()) return;
  std::vector<store::JobCompletion> jobs;
  for (const auto& c : batch) jobs.push_back(c.completion);
  auto now = clock_();
  auto all = store_.completeJobs(jobs, now);
  // A failed batch is written again one job at a time: one bad row does not hold back the rest.
  auto resultOf = [&](size_t i) -> proto::Result<FenceResult> {
    if (all) return (*all)[i];
    if (batch.size() == 1) return all.error();
    const auto& j = batch[i].completion;
    return store_.completeJob(j.fence, j.state, j.error, j.outcome, now);
  };
  for (size_t i = 0; i < batch.size(); ++i) {
    const auto& c = batch[i];
    auto r = resultOf(i);
    if (!r) {
      // Left running: its lease expires, the sweeper hands it out again and the agent answers
      // from its record.
      spdlog::error("job {}: recording its result failed: {}", c.completion.fence.job_id, r.error().message);
      continue;
    }
    if (*r == FenceResult::kLost) {
      spdlog::warn("job {}: its lease was lost before the answer; the answer is ignored",
                   c.completion.fence.job_id);
      continue;
    }
    const auto& error = c.completion.error;
    if (c.completion.state == JobState::kSucceeded)
      spdlog::info("job {} ({}) succeeded", c.completion.fence.job_id, c.what);
    else
      spdlog::info("job {} ({}) failed: {}: {}", c.completion.fence.job_id, c.what,
                   proto::toWire(error ? error->code : ErrorCode::kInternal),
                   error ? error->message : "");
  }
}

void QueueWorker::discard(const store::Job& job, const std::optional<store::Operation>& op,
                          const proto::Error& last) {
  auto err = proto::makeError(last.code, "gave up after " + std::to_string(job.attempt) +
                                             " attempt(s): " + last.message);
  Held h{job, op, executor_.steadyNow()};
  finish(h, JobState::kFailed, err, err);
  metrics_.incQueue("discards", store::toString(job.queue));
}

void QueueWorker::heartbeatNow() {
  if (held_.empty()) return;
  std::vector<store::Fence> fences;
  for (const auto& [_, h] : held_) fences.push_back(store::fenceOf(h.job));
  auto lost = store_.heartbeatJobs(fences, options_.lease, clock_());
  if (!lost) {
    spdlog::warn("heartbeat of {} job(s) failed: {}", fences.size(), lost.error().message);
    return;
  }
  for (const auto& id : *lost) {
    spdlog::warn("job {}: lease lost (another worker may run it now)", id);
    held_.erase(id);
  }
}

void QueueWorker::sweepNow() {
  auto now = clock_();
  auto swept = store_.sweepExpiredLeases(now);
  if (!swept) {
    spdlog::warn("sweeping expired leases failed: {}", swept.error().message);
  } else {
    for (const auto& j : swept->returned)
      spdlog::warn("job {}: the lease of attempt {} expired; it runs again", j.id, j.attempt);
    for (const auto& j : swept->exhausted) {
      std::optional<store::Operation> op;
      if (j.operation_id)
        if (auto o = store_.getOperation(*j.operation_id)) op = *o;
      discard(j, op,
              proto::makeError(ErrorCode::kUnavailable,
                               "the lease of its last attempt expired (its worker stopped answering)"));
    }
    if (!swept->returned.empty()) kick();
  }
  auto marked = store_.markWaitingOperations(now);
  if (!marked) spdlog::warn("marking waiting operations failed: {}", marked.error().message);
}

void QueueWorker::pruneNow() {
  auto now = clock_();
  auto pruned = store_.pruneFinishedJobs(now - options_.finished_retention, now);
  if (!pruned) spdlog::warn("pruning finished jobs failed: {}", pruned.error().message);
  else if (*pruned > 0) spdlog::info("pruned {} finished job(s)", *pruned);
}

}  // namespace zlh::coordinator::instances
