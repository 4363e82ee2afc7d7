// Job queues on both engines, the maintenance side: operations waiting for their node's link,
// backlog figures per queue, and pruning finished jobs.
#include <gtest/gtest.h>

#include "coordinator/store/tests/queue_fixture.h"

namespace zlh::coordinator::store {
namespace {
using proto::ErrorCode;
using testing::Engine;
using testing::errText;
using namespace std::chrono_literals;

class QueueBacklogTest : public testing::QueueTest {
 protected:
  std::string newNode(const std::string& name) {
    auto n = store_->createNodeWithToken(name, "sha-" + name);
    EXPECT_TRUE(n.ok()) << n.error().message;
    return n.ok() ? n->first.id : std::string();
  }
  int64_t markWaiting(Time now) {
    auto r = store_->markWaitingOperations(now);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : -1;
  }
  void finish(const Job& j, JobState state, Time now) {
    auto r = store_->completeJob(fenceOf(j), state, std::nullopt, std::nullopt, now);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(*r, FenceResult::kApplied);
  }
};

INSTANTIATE_TEST_SUITE_P(Engines, QueueBacklogTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         testing::engineName);

TEST_P(QueueBacklogTest, OperationsWaitWhileTheirNodeHasNoLiveLink) {
  const std::string n1 = newNode("n1");
  auto on_n1 = createOn(n1, "k1");
  auto nowhere = createOn("nd_never_existed", "k2");
  auto unbound = enqueue(QueueName::kProvisioning, "k.unbound", t_);
  const std::string op1 = on_n1.operation->id, op2 = nowhere.operation->id;

  EXPECT_EQ(markWaiting(t_), 2);
  Operation o1 = op(op1);
  EXPECT_EQ(toString(o1.state), "waiting");
  EXPECT_NE(errText(o1.error).find(n1), std::string::npos) << errText(o1.error);
  EXPECT_NE(errText(o1.error).find("offline"), std::string::npos) << errText(o1.error);
  EXPECT_EQ(o1.error->code, ErrorCode::kUnavailable);
  Operation o2 = op(op2);
  EXPECT_EQ(toString(o2.state), "waiting");
  EXPECT_NE(errText(o2.error).find("nd_never_existed does not exist"), std::string::npos)
      << errText(o2.error);
  EXPECT_EQ(markWaiting(t_), 0);  // nothing new
  EXPECT_EQ(toString(job(unbound.id).state), "available");

  // The link comes up (another coordinator holds it): queued again, the reason cleared.
  ASSERT_TRUE(store_->holdNodeLinks("coord-a", {n1}, at(30s)).ok());
  auto node = store_->getNode(n1);
  EXPECT_EQ(node->link_owner, "coord-a");
  EXPECT_EQ(node->link_expires_at, at(30s));
  EXPECT_EQ(markWaiting(t_), 1);
  EXPECT_EQ(toString(op(op1).state), "queued");
  EXPECT_FALSE(op(op1).error);
  EXPECT_EQ(toString(op(op2).state), "waiting");

  // Its lease runs out: waiting again. A link lease in the past is no link.
  EXPECT_EQ(markWaiting(at(31s)), 1);
  EXPECT_EQ(toString(op(op1).state), "waiting");
  ASSERT_TRUE(store_->holdNodeLinks("coord-a", {n1}, at(-1s)).ok());
  EXPECT_EQ(markWaiting(t_), 0);
  ASSERT_TRUE(store_->holdNodeLinks("coord-a", {n1}, at(30s)).ok());
  EXPECT_EQ(markWaiting(t_), 1);
  EXPECT_EQ(toString(op(op1).state), "queued");

  // Only its holder closes a link.
  ASSERT_TRUE(store_->releaseNodeLink(n1, "coord-b").ok());
  EXPECT_EQ(markWaiting(t_), 0);
  ASSERT_TRUE(store_->releaseNodeLink(n1, "coord-a").ok());
  EXPECT_FALSE(store_->getNode(n1)->link_owner);
  EXPECT_EQ(markWaiting(t_), 1);
  EXPECT_EQ(toString(op(op1).state), "waiting");
}

TEST_P(QueueBacklogTest, ARestartedCoordinatorRetiresWhatItsEarlierRunsHeld) {
  // Identities may hold LIKE's wildcards: matched by prefix, not pattern.
  const std::string me = "host_1/127.0.0.1:%", peer = "host_1/127.0.0.1:9";
  const std::string dead = leaseOwner(me, "run1"), now_me = leaseOwner(me, "run2"),
                    alive = leaseOwner(peer, "run1"), lookalike = leaseOwner("host_1/127.0.0.1:", "x");
  const std::string n1 = newNode("n1"), n2 = newNode("n2"), n3 = newNode("n3"), n4 = newNode("n4");
  ASSERT_TRUE(store_->holdNodeLinks(dead, {n1}, at(30s)).ok());
  ASSERT_TRUE(store_->holdNodeLinks(alive, {n2}, at(30s)).ok());
  ASSERT_TRUE(store_->holdNodeLinks(now_me, {n3}, at(30s)).ok());  // linked again already
  ASSERT_TRUE(store_->holdNodeLinks(lookalike, {n4}, at(30s)).ok());
  auto a = createOn(n1, "k1"), b = createOn(n2, "k2"), c = createOn(n3, "k3");
  ASSERT_EQ(claim(claimOf(dead, 1, {n1}), t_).size(), 1u);
  ASSERT_EQ(claim(claimOf(alive, 1, {n2}), t_).size(), 1u);
  ASSERT_EQ(claim(claimOf(now_me, 1, {n3}), t_).size(), 1u);

  auto r = store_->retirePredecessors(me, now_me, at(1s));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->links, 1);
  EXPECT_EQ(r->jobs, 1);
  EXPECT_FALSE(store_->getNode(n1)->link_owner);  // not online before it links again
  EXPECT_EQ(store_->getNode(n2)->link_owner, alive);
  EXPECT_EQ(store_->getNode(n3)->link_owner, now_me);
  EXPECT_EQ(store_->getNode(n4)->link_owner, lookalike);

  // The dead run's job goes back at the next sweep, not when its lease would have run out.
  auto swept = store_->sweepExpiredLeases(at(1s));
  ASSERT_TRUE(swept.ok()) << swept.error().message;
  ASSERT_EQ(swept->returned.size(), 1u);
  EXPECT_EQ(swept->returned[0].operation_id, a.operation->id);
  EXPECT_EQ(toString(job(jobIdOfOperation(b.operation->id)).state), "running");
  EXPECT_EQ(toString(job(jobIdOfOperation(c.operation->id)).state), "running");
  auto again = store_->retirePredecessors(me, now_me, at(2s));  // nothing left: idempotent
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->links + again->jobs, 0);
}

TEST_P(QueueBacklogTest, RunningAndUnboundJobsAreLeftAloneAndDeletedNodesNamed) {
  const std::string n1 = newNode("n1"), n2 = newNode("n2");
  ASSERT_TRUE(store_->holdNodeLinks("coord-a", {n1, n2}, at(30s)).ok());
  auto running = createOn(n1, "k1");
  auto queued = createOn(n2, "k2");
  ASSERT_EQ(claim(claimOf("w", 1, {n1}), t_).size(), 1u);
  EXPECT_EQ(markWaiting(t_), 0);

  ASSERT_TRUE(store_->deleteNode(n2).ok());
  ASSERT_TRUE(store_->releaseNodeLink(n1, "coord-a").ok());
  EXPECT_EQ(markWaiting(t_), 1);  // the running one stays running, offline or not
  EXPECT_EQ(toString(op(running.operation->id).state), "running");
  Operation o = op(queued.operation->id);
  EXPECT_EQ(toString(o.state), "waiting");
  EXPECT_NE(errText(o.error).find(n2 + " does not exist"), std::string::npos) << errText(o.error);
}

TEST_P(QueueBacklogTest, StatsCountEveryQueueAndState) {
  auto empty = store_->queueStats(t_);
  ASSERT_TRUE(empty.ok()) << empty.error().message;
  ASSERT_EQ(empty->size(), allQueueNames().size());
  for (size_t i = 0; i < empty->size(); ++i) {
    const QueueStats& s = (*empty)[i];
    EXPECT_EQ(s.queue, allQueueNames()[i]);
    ASSERT_EQ(s.jobs.size(), allJobStates().size());
    for (auto [state, n] : s.jobs) EXPECT_EQ(n, 0) << toString(state);
    EXPECT_FALSE(s.oldest_available_at);
    EXPECT_FALSE(s.oldest_running_since);
    EXPECT_EQ(s.overdue, 0);
  }

  auto prov = QueueName::kProvisioning;
  auto quick = claimOf("w");
  quick.run_timeout = 5s;
  enqueue(prov, "k", at(-60s));
  ASSERT_EQ(claim(quick, at(-10s)).size(), 1u);  // running since t-10s, overdue since t-5s
  enqueue(prov, "k", at(-60s));
  ASSERT_EQ(claim(claimOf("w"), t_).size(), 1u);  // running, deadline t+10min
  enqueue(prov, "k", at(-60s));
  finish(claim(claimOf("w"), t_).at(0), JobState::kSucceeded, t_);
  enqueue(prov, "k", at(-60s));
  finish(claim(claimOf("w"), t_).at(0), JobState::kFailed, t_);
  enqueue(prov, "k", at(-60s), std::nullopt, at(-5s));
  enqueue(prov, "k", at(-60s), std::nullopt, at(60s));  // not due: not the oldest available
  auto cancelled = createOn("nd_a", "k1");
  ASSERT_TRUE(store_->cancelOperation(cancelled.operation->id, {}, t_).ok());
  enqueue(QueueName::kBillingEnforcement, "billing.enforce", at(-60s), std::nullopt, at(-1s));

  auto stats = store_->queueStats(t_);
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  const QueueStats& p = (*stats)[0];
  ASSERT_EQ(p.queue, prov);
  EXPECT_EQ(p.jobs.at(JobState::kAvailable), 2);
  EXPECT_EQ(p.jobs.at(JobState::kRunning), 2);
  EXPECT_EQ(p.jobs.at(JobState::kSucceeded), 1);
  EXPECT_EQ(p.jobs.at(JobState::kFailed), 1);
  EXPECT_EQ(p.jobs.at(JobState::kCancelled), 1);
  EXPECT_EQ(p.oldest_available_at, at(-5s));
  EXPECT_EQ(p.oldest_running_since, at(-10s));
  EXPECT_EQ(p.overdue, 1);
  const QueueStats& r = (*stats)[1];
  ASSERT_EQ(r.queue, QueueName::kRepair);
  for (auto [state, n] : r.jobs) EXPECT_EQ(n, 0) << toString(state);
  EXPECT_FALSE(r.oldest_available_at);
  const QueueStats& b = (*stats)[2];
  ASSERT_EQ(b.queue, QueueName::kBillingEnforcement);
  EXPECT_EQ(b.jobs.at(JobState::kAvailable), 1);
  EXPECT_EQ(b.oldest_available_at, at(-1s));
  EXPECT_FALSE(b.oldest_running_since);

  // Before anything is due, there is no oldest available job.
  EXPECT_FALSE((*store_->queueStats(at(-7s)))[0].oldest_available_at);
}

TEST_P(QueueBacklogTest, PruningDeletesOnlyOldFinishedJobsAndOldKeys) {
  auto prov = QueueName::kProvisioning;
  const Time long_ago = t_ - 10 * 24h;
  Job old_ok = enqueue(prov, "k", long_ago);
  finish(claim(claimOf("w"), long_ago).at(0), JobState::kSucceeded, long_ago);
  Job old_failed = enqueue(prov, "k", long_ago);
  finish(claim(claimOf("w"), long_ago).at(0), JobState::kFailed, t_ - 8 * 24h);
  Job recent = enqueue(prov, "k", long_ago);
  finish(claim(claimOf("w"), long_ago).at(0), JobState::kSucceeded, t_ - 6 * 24h);
  Job old_running = enqueue(prov, "k", long_ago);
  ASSERT_EQ(claim(claimOf("w"), long_ago).size(), 1u);
  Job old_available = enqueue(prov, "k", long_ago);
  auto cancelled = createOn("nd_a", "k-old");
  ASSERT_TRUE(store_->cancelOperation(cancelled.operation->id, {}, t_ - 9 * 24h).ok());
  createOn("nd_a", "k-new");
  const int64_t stale_key_ms = common::toUnixMs(common::now()) - kIdempotencyRetentionMs - 60000;
  tmp_.execRaw("UPDATE idempotency_keys SET created_at = " + std::to_string(stale_key_ms) +
               " WHERE key = 'k-old'");

  auto pruned = store_->pruneFinishedJobs(t_ - 7 * 24h, t_);
  ASSERT_TRUE(pruned.ok()) << pruned.error().message;
  EXPECT_EQ(*pruned, 3);  // old_ok, old_failed and the cancelled operation's job
  for (const auto& gone : {old_ok.id, old_failed.id, jobIdOfOperation(cancelled.operation->id)})
    EXPECT_EQ(store_->getJob(gone).error().code, ErrorCode::kNotFound) << gone;
  for (const auto& kept : {recent.id, old_running.id, old_available.id})
    EXPECT_TRUE(store_->getJob(kept).ok()) << kept;
  EXPECT_EQ(toString(op(cancelled.operation->id).state), "cancelled");  // operations stay
  EXPECT_FALSE(*store_->findIdempotencyKey(alice_, "k-old"));
  EXPECT_TRUE(*store_->findIdempotencyKey(alice_, "k-new"));
  EXPECT_EQ(*store_->pruneFinishedJobs(t_ - 7 * 24h, t_), 0);
}

}  // namespace
}  // namespace zlh::coordinator::store
