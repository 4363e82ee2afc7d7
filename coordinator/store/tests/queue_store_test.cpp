// Job queues (queue_types.h) on both engines: claims, leases, fenced writes, the sweeper,
// cancellation, waiting marks, backlog figures and pruning. Load cases: queue_load_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "coordinator/store/tests/queue_fixture.h"

namespace zlh::coordinator::store {
namespace {
using proto::ErrorCode;
using testing::Engine;
using testing::expectSameJob;
using testing::expectSameOperation;
using namespace std::chrono_literals;

class QueueStoreTest : public testing::QueueTest {};

INSTANTIATE_TEST_SUITE_P(Engines, QueueStoreTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         testing::engineName);

std::vector<std::string> ids(const std::vector<Job>& jobs) {
  std::vector<std::string> out;
  for (const auto& j : jobs) out.push_back(j.id);
  return out;
}

const proto::Error kBoom{ErrorCode::kInternal, "disk on fire"};

TEST_P(QueueStoreTest, ClaimsOldestRunAtFirstUpToTheLimit) {
  auto q = QueueName::kProvisioning;
  Job b = enqueue(q, "k.b", at(-3s), std::nullopt, at(-2s));
  Job a = enqueue(q, "k.a", at(-3s), std::nullopt, at(-3s));
  Job c1 = enqueue(q, "k.c", at(-3s), std::nullopt, at(-1s));
  Job c2 = enqueue(q, "k.c", at(-3s), std::nullopt, at(-1s));  // same run_at: by id
  Job later = enqueue(q, "k.later", at(-3s), std::nullopt, at(10s));
  Job other = enqueue(QueueName::kRepair, "k.repair", at(-3s));
  EXPECT_EQ(toString(a.state), "available");
  EXPECT_EQ(a.attempt, 0);
  EXPECT_EQ(a.payload["n"], "k.a");
  EXPECT_EQ(a.run_at, at(-3s));

  auto req = claimOf("w1", 2);
  req.run_timeouts = {{"k.a", 7min}};
  auto first = claim(req, t_);
  ASSERT_EQ(ids(first), (std::vector<std::string>{a.id, b.id}));
  auto [cfirst, csecond] = std::minmax(c1.id, c2.id);
  req.limit = 10;
  EXPECT_EQ(ids(claim(req, t_)), (std::vector<std::string>{cfirst, csecond}));
  EXPECT_TRUE(claim(req, t_ + 9s).empty());  // `later` is not due; the repair job is elsewhere
  EXPECT_EQ(ids(claim(req, t_ + 10s)), std::vector<std::string>{later.id});
  EXPECT_EQ(ids(claim(claimOf("w2", 5, {}, QueueName::kRepair), t_)),
            std::vector<std::string>{other.id});

  // The claim's lease and deadline, as returned and as stored.
  for (const Job& j : {first[0], job(a.id)}) {
    EXPECT_EQ(toString(j.state), "running");
    EXPECT_EQ(j.attempt, 1);
    EXPECT_EQ(j.lease_owner, "w1");
    EXPECT_EQ(j.lease_expires_at, t_ + 30s);
    EXPECT_EQ(j.started_at, t_);
    EXPECT_EQ(j.deadline_at, t_ + 7min);  // its kind's run timeout
  }
  EXPECT_EQ(job(b.id).deadline_at, t_ + 10min);  // the default one
  EXPECT_TRUE(claim(claimOf("w1", 0), t_ + 1h).empty());
}

TEST_P(QueueStoreTest, ClaimsOnlyJobsOfTheListedNodesAndUnboundOnes) {
  auto q = QueueName::kProvisioning;
  Job x = enqueue(q, "k", at(-3s), std::string("nd_x"));
  Job y = enqueue(q, "k", at(-2s), std::string("nd_y"));
  Job any = enqueue(q, "k", at(-1s));
  EXPECT_EQ(x.node_id, "nd_x");
  EXPECT_EQ(ids(claim(claimOf("w", 10, {"nd_x", "nd_z"}), t_)),
            (std::vector<std::string>{x.id, any.id}));
  EXPECT_TRUE(claim(claimOf("w", 10), t_).empty());  // no nodes: unbound jobs only
  EXPECT_EQ(toString(job(y.id).state), "available");
  EXPECT_EQ(ids(claim(claimOf("w", 10, {"nd_y"}), t_)), std::vector<std::string>{y.id});
}

TEST_P(QueueStoreTest, ClaimingAnOperationJobRunsItsOperation) {
  auto created = createOn("nd_a", "k1");
  const std::string op_id = created.operation->id;
  auto j = store_->getJobOfOperation(op_id);
  ASSERT_TRUE(j.ok()) << j.error().message;
  EXPECT_EQ(j->id, jobIdOfOperation(op_id));
  EXPECT_EQ(j->operation_id, op_id);
  EXPECT_EQ(j->queue, QueueName::kProvisioning);
  EXPECT_EQ(j->kind, "instance.create");
  EXPECT_EQ(j->node_id, "nd_a");
  EXPECT_EQ(toString(j->state), "available");
  EXPECT_EQ(store_->getJobOfOperation("op_nope").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->getJob("jb_nope").error().code, ErrorCode::kNotFound);

  EXPECT_TRUE(claim(claimOf("w"), t_).empty());  // bound to nd_a, which this claimer lacks
  auto req = claimOf("w", 1, {"nd_a"});
  req.run_timeouts = {{"instance.create", 15min}};
  auto got = claim(req, t_);
  ASSERT_EQ(got.size(), 1u);
  Operation o = op(op_id);
  EXPECT_EQ(toString(o.state), "running");
  EXPECT_EQ(o.attempts, 1);
  EXPECT_EQ(o.deadline, t_ + 15min);
  EXPECT_FALSE(o.error);
}

TEST_P(QueueStoreTest, HeartbeatsExtendHeldLeasesAndReportLostOnes) {
  enqueue(QueueName::kProvisioning, "k", at(-2s));
  enqueue(QueueName::kProvisioning, "k", at(-1s));
  auto got = claim(claimOf("w", 2), t_);
  ASSERT_EQ(got.size(), 2u);
  Job held = got[0], other = got[1];
  Fence wrong_attempt{other.id, other.attempt + 1, "w"};
  Fence wrong_owner{other.id, other.attempt, "intruder"};
  auto lost = store_->heartbeatJobs(
      {fenceOf(held), wrong_attempt, wrong_owner, Fence{"jb_nope", 1, "w"}}, 45s, at(5s));
  ASSERT_TRUE(lost.ok()) << lost.error().message;
  EXPECT_EQ(*lost, (std::vector<std::string>{other.id, other.id, "jb_nope"}));
  EXPECT_EQ(job(held.id).lease_expires_at, at(50s));
  expectSameJob(job(other.id), other);
  EXPECT_TRUE(store_->heartbeatJobs({}, 45s, t_)->empty());
}

TEST_P(QueueStoreTest, RetryCountsAFailureAndRequeuesTheOperation) {
  auto created = createOn("nd_a", "k1");
  const std::string op_id = created.operation->id;
  auto got = claim(claimOf("w", 1, {"nd_a"}), t_);
  ASSERT_EQ(got.size(), 1u);
  auto r = store_->retryJob(fenceOf(got[0]), kBoom, at(30s), at(1s));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, FenceResult::kApplied);
  Job j = job(got[0].id);
  EXPECT_EQ(toString(j.state), "available");
  EXPECT_EQ(j.attempt, 1);
  EXPECT_EQ(j.failures, 1);
  EXPECT_EQ(j.run_at, at(30s));
  EXPECT_FALSE(j.lease_owner);
  EXPECT_FALSE(j.lease_expires_at);
  EXPECT_EQ(testing::errText(j.last_error), "disk on fire");
  Operation o = op(op_id);
  EXPECT_EQ(toString(o.state), "queued");
  EXPECT_EQ(testing::errText(o.error), "disk on fire");
  EXPECT_EQ(o.attempts, 1);

  EXPECT_TRUE(claim(claimOf("w", 1, {"nd_a"}), at(29s)).empty());  // backing off
  auto again = claim(claimOf("w", 1, {"nd_a"}), at(30s));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempt, 2);
  EXPECT_EQ(again[0].failures, 1);
  o = op(op_id);
  EXPECT_EQ(toString(o.state), "running");
  EXPECT_EQ(o.attempts, 2);
  EXPECT_FALSE(o.error);
}

TEST_P(QueueStoreTest, ReleaseGivesTheJobBackWithoutAFailure) {
  auto created = createOn("nd_a", "k1");
  const std::string op_id = created.operation->id;
  auto got = claim(claimOf("w", 1, {"nd_a"}), t_);
  ASSERT_EQ(got.size(), 1u);
  proto::Error why{ErrorCode::kUnavailable, "node nd_a disconnected"};
  EXPECT_EQ(*store_->releaseJob(fenceOf(got[0]), why, at(2s)), FenceResult::kApplied);
  Job j = job(got[0].id);
  EXPECT_EQ(toString(j.state), "available");
  EXPECT_EQ(j.failures, 0);
  EXPECT_EQ(j.run_at, at(2s));
  EXPECT_FALSE(j.lease_owner);
  Operation o = op(op_id);
  EXPECT_EQ(toString(o.state), "waiting");
  EXPECT_EQ(testing::errText(o.error), "node nd_a disconnected");
  auto again = claim(claimOf("w2", 1, {"nd_a"}), at(2s));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempt, 2);
  EXPECT_EQ(toString(op(op_id).state), "running");
}

TEST_P(QueueStoreTest, CompleteAppliesTheOutcomeOnce) {
  auto good = createOn("nd_a", "k1");
  auto bad = createOn("nd_a", "k2");
  auto got = claim(claimOf("w", 2, {"nd_a"}), t_);
  ASSERT_EQ(got.size(), 2u);
  Job jg = got[0].operation_id == good.operation->id ? got[0] : got[1];
  Job jb = got[0].operation_id == good.operation->id ? got[1] : got[0];

  OperationOutcome ok;
  ok.force_state = "running";
  EXPECT_EQ(
      store_->completeJob(fenceOf(jg), JobState::kCancelled, std::nullopt, ok, at(1s)).error().code,
      ErrorCode::kInvalidArgument);
  EXPECT_EQ(
      store_->completeJob(fenceOf(jg), JobState::kRunning, std::nullopt, ok, at(1s)).error().code,
      ErrorCode::kInvalidArgument);
  EXPECT_EQ(*store_->completeJob(fenceOf(jg), JobState::kSucceeded, std::nullopt, ok, at(1s)),
            FenceResult::kApplied);
  Job j = job(jg.id);
  EXPECT_EQ(toString(j.state), "succeeded");
  EXPECT_EQ(j.finished_at, at(1s));
  EXPECT_FALSE(j.lease_owner);
  EXPECT_FALSE(j.lease_expires_at);
  EXPECT_EQ(toString(op(good.operation->id).state), "succeeded");
  EXPECT_EQ(store_->getInstance(good.instance->id)->state, "running");

  // The same answer again (a redelivery) is refused and changes nothing.
  OperationOutcome late;
  late.state = OperationState::kFailed;
  late.force_state = "failed";
  EXPECT_EQ(*store_->completeJob(fenceOf(jg), JobState::kFailed, kBoom, late, at(2s)),
            FenceResult::kLost);
  expectSameJob(job(jg.id), j);
  EXPECT_EQ(toString(op(good.operation->id).state), "succeeded");
  EXPECT_EQ(store_->getInstance(good.instance->id)->state, "running");

  late.error = kBoom;
  EXPECT_EQ(*store_->completeJob(fenceOf(jb), JobState::kFailed, kBoom, late, at(3s)),
            FenceResult::kApplied);
  EXPECT_EQ(toString(job(jb.id).state), "failed");
  EXPECT_EQ(testing::errText(job(jb.id).last_error), "disk on fire");
  Operation o = op(bad.operation->id);
  EXPECT_EQ(toString(o.state), "failed");
  EXPECT_EQ(testing::errText(o.error), "disk on fire");
  EXPECT_EQ(store_->getInstance(bad.instance->id)->state, "failed");
}

TEST_P(QueueStoreTest, CompletingSeveralJobsAppliesEachOnceInOneCall) {
  auto a = createOn("nd_a", "k1"), b = createOn("nd_a", "k2"), c = createOn("nd_a", "k3");
  auto unbound = enqueue(QueueName::kProvisioning, "k.unbound", t_);
  auto got = claim(claimOf("w", 4, {"nd_a"}), t_);
  ASSERT_EQ(got.size(), 4u);
  auto held = [&](const std::string& op_id) {
    for (const auto& j : got)
      if (j.operation_id == op_id) return j;
    return Job{};
  };
  Job ja = held(a.operation->id), jb = held(b.operation->id), jc = held(c.operation->id);
  Job ju = job(unbound.id);
  ASSERT_EQ(toString(ju.state), "running");
  OperationOutcome up, down;
  up.force_state = "running";
  down.state = OperationState::kFailed;
  down.error = kBoom;
  down.force_state = "failed";
  Fence stale = fenceOf(jc);
  stale.attempt += 1;  // not the attempt held: refused, the others still applied

  EXPECT_TRUE(store_->completeJobs({}, at(1s))->empty());
  EXPECT_EQ(store_->completeJobs({{fenceOf(ja), JobState::kSucceeded, std::nullopt, up},
                                  {fenceOf(jb), JobState::kCancelled, std::nullopt, up}},
                                 at(1s))
                .error()
                .code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(toString(job(ja.id).state), "running");  // a refused call applies nothing

  auto r = store_->completeJobs({{fenceOf(ja), JobState::kSucceeded, std::nullopt, up},
                                 {fenceOf(jb), JobState::kFailed, kBoom, down},
                                 {stale, JobState::kSucceeded, std::nullopt, up},
                                 {fenceOf(ju), JobState::kSucceeded, std::nullopt, std::nullopt}},
                                at(2s));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, (std::vector<FenceResult>{FenceResult::kApplied, FenceResult::kApplied,
                                          FenceResult::kLost, FenceResult::kApplied}));
  EXPECT_EQ(toString(op(a.operation->id).state), "succeeded");
  EXPECT_EQ(store_->getInstance(a.instance->id)->state, "running");
  EXPECT_EQ(toString(op(b.operation->id).state), "failed");
  EXPECT_EQ(testing::errText(job(jb.id).last_error), "disk on fire");
  EXPECT_EQ(store_->getInstance(b.instance->id)->state, "failed");
  EXPECT_EQ(toString(job(jc.id).state), "running");
  EXPECT_EQ(toString(op(c.operation->id).state), "running");
  EXPECT_EQ(toString(job(ju.id).state), "succeeded");
  EXPECT_EQ(job(ju.id).finished_at, at(2s));

  // Sent again (a redelivery): every one refused, nothing changed.
  auto again = store_->completeJobs({{fenceOf(ja), JobState::kFailed, kBoom, down},
                                     {fenceOf(jb), JobState::kSucceeded, std::nullopt, up}},
                                    at(3s));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, (std::vector<FenceResult>{FenceResult::kLost, FenceResult::kLost}));
  EXPECT_EQ(toString(op(a.operation->id).state), "succeeded");
  EXPECT_EQ(toString(op(b.operation->id).state), "failed");
}

TEST_P(QueueStoreTest, EveryFencedWriteRefusesAStaleFence) {
  auto created = createOn("nd_a", "k1");
  const std::string op_id = created.operation->id;
  auto got = claim(claimOf("w", 1, {"nd_a"}), t_);
  ASSERT_EQ(got.size(), 1u);
  const Job claimed = job(got[0].id);
  const Operation running = op(op_id);
  OperationOutcome ok;
  ok.force_state = "running";

  auto refusedAll = [&](const Fence& f, const Job& job_before, const Operation& op_before) {
    SCOPED_TRACE("fence " + f.job_id + "/" + std::to_string(f.attempt) + "/" + f.owner);
    EXPECT_EQ(*store_->heartbeatJobs({f}, 30s, at(5s)), std::vector<std::string>{f.job_id});
    EXPECT_EQ(*store_->retryJob(f, kBoom, at(5s), at(5s)), FenceResult::kLost);
    EXPECT_EQ(*store_->releaseJob(f, kBoom, at(5s)), FenceResult::kLost);
    EXPECT_EQ(*store_->completeJob(f, JobState::kSucceeded, std::nullopt, ok, at(5s)),
              FenceResult::kLost);
    EXPECT_EQ(*store_->completeJob(f, JobState::kFailed, kBoom, std::nullopt, at(5s)),
              FenceResult::kLost);
    expectSameJob(job(f.job_id), job_before);
    expectSameOperation(op(op_id), op_before);
  };
  refusedAll(Fence{claimed.id, claimed.attempt + 1, "w"}, claimed, running);
  refusedAll(Fence{claimed.id, claimed.attempt - 1, "w"}, claimed, running);
  refusedAll(Fence{claimed.id, claimed.attempt, "someone-else"}, claimed, running);
  refusedAll(Fence{claimed.id, claimed.attempt, ""}, claimed, running);

  ASSERT_EQ(*store_->completeJob(fenceOf(claimed), JobState::kSucceeded, std::nullopt, ok, at(1s)),
            FenceResult::kApplied);
  refusedAll(fenceOf(claimed), job(claimed.id), op(op_id));  // the right fence, after the end
}

TEST_P(QueueStoreTest, ADeadWorkersJobGoesToAnotherWorkerOnce) {
  auto created = createOn("nd_a", "k1");
  const std::string op_id = created.operation->id;
  auto a = claim(claimOf("worker-a", 1, {"nd_a"}), t_);  // A dies: no heartbeat from here on
  ASSERT_EQ(a.size(), 1u);
  const Fence a_fence = fenceOf(a[0]);

  auto early = store_->sweepExpiredLeases(t_ + 30s);  // the lease ends at t + 30 s, not before
  ASSERT_TRUE(early.ok()) << early.error().message;
  EXPECT_TRUE(early->returned.empty() && early->exhausted.empty());
  EXPECT_EQ(toString(job(a[0].id).state), "running");

  auto swept = store_->sweepExpiredLeases(at(31s));
  ASSERT_TRUE(swept.ok()) << swept.error().message;
  ASSERT_EQ(ids(swept->returned), std::vector<std::string>{a[0].id});
  EXPECT_TRUE(swept->exhausted.empty());
  EXPECT_EQ(toString(swept->returned[0].state), "available");
  EXPECT_EQ(swept->returned[0].failures, 1);
  Job j = job(a[0].id);
  EXPECT_EQ(toString(j.state), "available");
  EXPECT_EQ(j.failures, 1);
  EXPECT_EQ(j.attempt, 1);
  EXPECT_FALSE(j.lease_owner);
  EXPECT_NE(testing::errText(j.last_error).find("lease"), std::string::npos);
  Operation o = op(op_id);
  EXPECT_EQ(toString(o.state), "queued");
  EXPECT_NE(testing::errText(o.error).find("lease of attempt 1 expired"), std::string::npos)
      << testing::errText(o.error);
  EXPECT_TRUE(store_->sweepExpiredLeases(at(32s))->returned.empty());

  // Several workers race for it, each on its own connection: exactly one gets it.
  constexpr int kClaimers = 4;
  std::vector<std::unique_ptr<Store>> stores;
  for (int i = 0; i < kClaimers; ++i) stores.push_back(connect());
  std::atomic<bool> go{false};
  std::vector<std::vector<Job>> results(kClaimers);
  std::vector<std::string> errors(kClaimers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClaimers; ++i)
    threads.emplace_back([&, i] {
      while (!go.load()) std::this_thread::yield();
      auto r = stores[i]->claimJobs(claimOf("worker-b" + std::to_string(i), 1, {"nd_a"}), at(32s));
      if (r.ok())
        results[i] = *r;
      else
        errors[i] = r.error().message;
    });
  go = true;
  for (auto& t : threads) t.join();
  std::vector<Job> b;
  for (int i = 0; i < kClaimers; ++i) {
    EXPECT_EQ(errors[i], "") << "claimer " << i;
    b.insert(b.end(), results[i].begin(), results[i].end());
  }
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].attempt, 2);
  EXPECT_EQ(toString(op(op_id).state), "running");
  EXPECT_EQ(op(op_id).attempts, 2);

  // A comes back and answers late with its old fence: nothing changes.
  const Job b_job = job(b[0].id);
  const Operation b_op = op(op_id);
  OperationOutcome ok;
  ok.force_state = "running";
  EXPECT_EQ(*store_->completeJob(a_fence, JobState::kSucceeded, std::nullopt, ok, at(40s)),
            FenceResult::kLost);
  EXPECT_EQ(*store_->retryJob(a_fence, kBoom, at(40s), at(40s)), FenceResult::kLost);
  EXPECT_EQ(*store_->releaseJob(a_fence, kBoom, at(40s)), FenceResult::kLost);
  EXPECT_EQ(*store_->heartbeatJobs({a_fence}, 30s, at(40s)),
            std::vector<std::string>{a_fence.job_id});
  expectSameJob(job(b[0].id), b_job);
  expectSameOperation(op(op_id), b_op);
  EXPECT_EQ(store_->getInstance(created.instance->id)->state, "provisioning");

  EXPECT_EQ(*store_->completeJob(fenceOf(b[0]), JobState::kSucceeded, std::nullopt, ok, at(41s)),
            FenceResult::kApplied);
  EXPECT_EQ(toString(job(b[0].id).state), "succeeded");
  EXPECT_EQ(toString(op(op_id).state), "succeeded");
  EXPECT_EQ(store_->getInstance(created.instance->id)->state, "running");
}

TEST_P(QueueStoreTest, AJobOutOfAttemptsIsReturnedAsExhaustedAndCanBeFailed) {
  auto created = createOn("nd_a", "k1");
  const std::string op_id = created.operation->id;
  const std::string jid = jobIdOfOperation(op_id);
  tmp_.execRaw("UPDATE jobs SET max_attempts = 2 WHERE id = '" + jid + "'");
  auto req = claimOf("w", 1, {"nd_a"});
  ASSERT_EQ(claim(req, t_).size(), 1u);
  ASSERT_EQ(store_->sweepExpiredLeases(at(31s))->returned.size(), 1u);
  auto second = claim(req, at(32s));
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].attempt, 2);
  const Job before_sweep = job(jid);

  auto swept = store_->sweepExpiredLeases(at(63s));
  ASSERT_TRUE(swept.ok()) << swept.error().message;
  EXPECT_TRUE(swept->returned.empty());
  ASSERT_EQ(ids(swept->exhausted), std::vector<std::string>{jid});
  const Job& ex = swept->exhausted[0];
  EXPECT_EQ(toString(ex.state), "running");  // left for the caller to fail
  EXPECT_EQ(ex.failures, 1);
  expectSameJob(job(jid), before_sweep);
  EXPECT_EQ(ids(store_->sweepExpiredLeases(at(64s))->exhausted), std::vector<std::string>{jid});

  OperationOutcome failed;
  failed.state = OperationState::kFailed;
  failed.error = proto::Error{ErrorCode::kUnavailable, "gave up after 2 attempts"};
  failed.force_state = "failed";
  EXPECT_EQ(*store_->completeJob(fenceOf(ex), JobState::kFailed, failed.error, failed, at(65s)),
            FenceResult::kApplied);
  EXPECT_EQ(toString(job(jid).state), "failed");
  EXPECT_EQ(toString(op(op_id).state), "failed");
  EXPECT_EQ(testing::errText(op(op_id).error), "gave up after 2 attempts");
  EXPECT_EQ(store_->getInstance(created.instance->id)->state, "failed");
  auto after = store_->sweepExpiredLeases(at(100s));
  EXPECT_TRUE(after->returned.empty() && after->exhausted.empty());
}

TEST_P(QueueStoreTest, ReturnedJobsAreWhatIsStored) {
  // Callers act on what claim and sweep return (log it, fence with it, fail it): it must be the
  // stored row, also when `now` is not a whole millisecond (the store keeps milliseconds).
  const auto odd = 1s + 250us;
  Job e = enqueue(QueueName::kProvisioning, "k", t_ + odd);
  expectSameJob(job(e.id), e);
  auto req = claimOf("w");
  req.run_timeout = 90s;
  auto got = claim(req, t_ + 2 * odd);
  ASSERT_EQ(got.size(), 1u);
  expectSameJob(job(e.id), got[0]);
  auto swept = store_->sweepExpiredLeases(t_ + 40 * odd);
  ASSERT_TRUE(swept.ok()) << swept.error().message;
  ASSERT_EQ(swept->returned.size(), 1u);
  expectSameJob(job(e.id), swept->returned[0]);
}

TEST_P(QueueStoreTest, CancelTakesOnlyJobsThatAreNotRunning) {
  auto queued = createOn("nd_a", "k1");
  auto released = createOn("nd_a", "k2");
  auto running = createOn("nd_b", "k3");
  OperationOutcome outcome;
  outcome.state = OperationState::kSucceeded;  // ignored: a cancel is a cancel
  outcome.force_state = "cancelled";

  auto c = store_->cancelOperation(queued.operation->id, outcome, at(1s));
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(toString(c->state), "cancelled");
  Job j = job(jobIdOfOperation(queued.operation->id));
  EXPECT_EQ(toString(j.state), "cancelled");
  EXPECT_EQ(j.finished_at, at(1s));
  EXPECT_EQ(store_->getInstance(queued.instance->id)->state, "cancelled");
  auto again = store_->cancelOperation(queued.operation->id, outcome, at(2s));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(store_->cancelOperation("op_nope", outcome, at(2s)).error().code, ErrorCode::kNotFound);

  // A released job (operation waiting) is available again: cancellable.
  auto got = claim(claimOf("w", 1, {"nd_a"}), t_);
  ASSERT_EQ(got.size(), 1u);
  ASSERT_EQ(*store_->releaseJob(fenceOf(got[0]), kBoom, at(1s)), FenceResult::kApplied);
  EXPECT_EQ(toString(store_->cancelOperation(released.operation->id, outcome, at(2s))->state),
            "cancelled");

  auto run = claim(claimOf("w", 1, {"nd_b"}), t_);
  ASSERT_EQ(run.size(), 1u);
  const Job run_job = job(run[0].id);
  const Operation run_op = op(running.operation->id);
  auto conflict = store_->cancelOperation(running.operation->id, outcome, at(3s));
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().code, ErrorCode::kConflict);
  expectSameJob(job(run[0].id), run_job);
  expectSameOperation(op(running.operation->id), run_op);
  EXPECT_EQ(store_->getInstance(running.instance->id)->state, "provisioning");
}

}  // namespace
}  // namespace zlh::coordinator::store
