// QueueWorker + OperationRecorder against a fake gateway, a manual executor and a movable clock.
#include <gtest/gtest.h>

#include <set>

#include "coordinator/gateway/tests/fakes.h"
#include "coordinator/instances/operation_recorder.h"
#include "coordinator/instances/queue_worker.h"
#include "coordinator/instances/tests/fake_links.h"
#include "coordinator/instances/tests/test_db.h"
#include "coordinator/store/forwarding_store.h"

namespace zlh::coordinator::instances {
namespace {
using namespace std::chrono_literals;
using nlohmann::json;
using proto::ErrorCode;
using store::OperationState;
using testing::FakeLinks;
using testing::TestDb;

class QueueWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override { node_ = db_.addNode("n1"); }
  QueueOptions options() {
    QueueOptions o;
    o.owner = "co_test";
    o.concurrency[store::QueueName::kProvisioning] = 2;
    return o;
  }
  store::Operation op(const std::string& id) { return *db_.store->getOperation(id); }
  store::Instance inst(const std::string& id) { return *db_.store->getInstance(id); }
  store::Job job(const std::string& op_id) { return *db_.store->getJobOfOperation(op_id); }
  void online() {
    links_.online.insert(node_);
    worker_.onNodeReady(node_);
  }
  static gateway::JobOutcome ok(json result) {
    return gateway::JobOutcome{"", std::move(result), false};
  }
  static json view(const std::string& id, const std::string& state, uint64_t version) {
    return {{"instance",
             {{"id", id},
              {"state", state},
              {"state_version", version},
              {"address", "127.0.0.1:25565"},
              {"unresponsive", false}}}};
  }

  TestDb db_;
  FakeLinks links_;
  gateway::testing::ManualExecutor executor_;
  common::Metrics metrics_{"test"};
  // Ahead of the rows the store stamps with the real clock, so they are due at once.
  common::Time now_ = common::fromUnixMs(common::toUnixMs(common::now()) + 60000);
  QueueWorker worker_{*db_.store, links_, executor_, metrics_, options(), [this] { return now_; }};
  std::string node_;
};

TEST_F(QueueWorkerTest, OfflineNodeWaitsThenTheJobGoesOutAtHelloAndSucceeds) {
  worker_.resume();
  auto c = db_.createInstance(node_);
  worker_.submit(*c.operation);
  EXPECT_TRUE(links_.sent.empty());
  auto waiting = op(c.operation->id);
  EXPECT_EQ(waiting.state, OperationState::kWaiting);
  ASSERT_TRUE(waiting.error);
  EXPECT_EQ(waiting.error->code, ErrorCode::kUnavailable);
  EXPECT_NE(waiting.error->message.find("offline"), std::string::npos);

  online();
  ASSERT_EQ(links_.sent.size(), 1u);
  const auto& req = links_.sent[0].request;
  EXPECT_EQ(req.kind, "lifecycle.create");
  EXPECT_EQ(req.job_id, c.operation->id);  // the agent's redelivery memory makes resends harmless
  EXPECT_EQ(req.instance_id, c.instance->id);
  EXPECT_EQ(req.node_id, node_);
  EXPECT_EQ(req.params["template"], "test");
  EXPECT_EQ(req.params["start"], true);
  auto running = op(c.operation->id);
  EXPECT_EQ(running.state, OperationState::kRunning);
  EXPECT_EQ(running.attempts, 1);
  EXPECT_FALSE(running.error);
  ASSERT_TRUE(running.deadline);
  EXPECT_EQ(*running.deadline, now_ + JobTimeouts{}.create);
  EXPECT_EQ(job(c.operation->id).lease_owner, "co_test");

  links_.sent[0].done(ok(view(c.instance->id, "running", 4)));
  EXPECT_EQ(op(c.operation->id).state, OperationState::kSucceeded);
  EXPECT_EQ(job(c.operation->id).state, store::JobState::kSucceeded);
  auto i = inst(c.instance->id);
  EXPECT_EQ(i.state, "running");
  EXPECT_EQ(i.state_version, 4u);
  EXPECT_EQ(i.address, "127.0.0.1:25565");
  EXPECT_EQ(worker_.held(), 0u);
  EXPECT_NE(metrics_.render().find("zlh_queue_job_duration_seconds_count{queue=\"provisioning\"} 1"),
            std::string::npos);
}

TEST_F(QueueWorkerTest, APermanentAgentErrorFailsTheOperationAndTheInstanceAtOnce) {
  worker_.resume();
  online();
  auto c = db_.createInstance(node_);
  worker_.submit(*c.operation);
  ASSERT_EQ(links_.sent.size(), 1u);
  links_.sent[0].done(proto::makeError(ErrorCode::kInvalidArgument, "unknown template \"test\""));
  auto failed = op(c.operation->id);
  EXPECT_EQ(failed.state, OperationState::kFailed);
  ASSERT_TRUE(failed.error);
  EXPECT_EQ(failed.error->code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(failed.error->message, "unknown template \"test\"");
  EXPECT_EQ(inst(c.instance->id).state, "failed");
  EXPECT_EQ(job(c.operation->id).state, store::JobState::kFailed);
}

TEST_F(QueueWorkerTest, ALostLinkGivesTheJobBackAndHelloSendsItAgainWithTheSameJobId) {
  worker_.resume();
  online();
  auto c = db_.createInstance(node_);
  worker_.submit(*c.operation);
  ASSERT_EQ(links_.sent.size(), 1u);
  links_.online.clear();
  worker_.onNodeGone(node_);
  links_.sent[0].done(proto::makeError(ErrorCode::kUnavailable, "the link to the node dropped"));
  auto parked = op(c.operation->id);
  EXPECT_EQ(parked.state, OperationState::kWaiting);
  EXPECT_NE(parked.error->message.find("dropped"), std::string::npos);
  EXPECT_EQ(job(c.operation->id).failures, 0);  // not the job's failure

  online();
  ASSERT_EQ(links_.sent.size(), 2u);
  EXPECT_EQ(links_.sent[1].request.job_id, c.operation->id);
  EXPECT_EQ(op(c.operation->id).attempts, 2);
  links_.sent[1].done(
      gateway::JobOutcome{c.operation->id, view(c.instance->id, "installed", 2), true});
  EXPECT_EQ(op(c.operation->id).state, OperationState::kSucceeded);
  EXPECT_EQ(inst(c.instance->id).state, "installed");
  // A late answer of the first attempt changes nothing.
  links_.sent[0].done(proto::makeError(ErrorCode::kInternal, "late"));
  EXPECT_EQ(op(c.operation->id).state, OperationState::kSucceeded);
}

TEST_F(QueueWorkerTest, PassingErrorsAreRetriedWithBackoffThenDiscardedWithTheLastError) {
  worker_.resume();
  online();
  auto c = db_.createInstance(node_);
  worker_.submit(*c.operation);
  for (int attempt = 1; attempt <= store::kDefaultMaxAttempts; ++attempt) {
    ASSERT_EQ(links_.sent.size(), static_cast<size_t>(attempt));
    links_.sent.back().done(proto::makeError(ErrorCode::kUnavailable, "plugin lifecycle busy"));
    if (attempt == store::kDefaultMaxAttempts) break;
    auto queued = op(c.operation->id);
    EXPECT_EQ(queued.state, OperationState::kQueued);
    EXPECT_EQ(queued.error->message, "plugin lifecycle busy");
    EXPECT_EQ(job(c.operation->id).failures, attempt);
    now_ += options().retry_cap + 1s;  // past any backoff
    worker_.claimNow();
  }
  auto failed = op(c.operation->id);
  EXPECT_EQ(failed.state, OperationState::kFailed);
  EXPECT_EQ(failed.attempts, store::kDefaultMaxAttempts);
  EXPECT_EQ(failed.error->message, "gave up after 5 attempt(s): plugin lifecycle busy");
  EXPECT_EQ(inst(c.instance->id).state, "failed");
  EXPECT_EQ(metrics_.value("zlh_queue_retries_total", {"provisioning"}), 4);
  EXPECT_EQ(metrics_.value("zlh_queue_discards_total", {"provisioning"}), 1);
}

TEST_F(QueueWorkerTest, ARetryWaitsForItsBackoff) {
  worker_.resume();
  online();
  auto c = db_.createInstance(node_);
  worker_.submit(*c.operation);
  links_.sent[0].done(proto::makeError(ErrorCode::kDeadlineExceeded, "no answer in time"));
  auto j = job(c.operation->id);
  EXPECT_GE(j.run_at, now_);
  EXPECT_LE(j.run_at, now_ + options().retry_base);
  EXPECT_GT(j.run_at, now_);  // jitter never makes it immediate
  now_ = j.run_at - 1ms;
  worker_.claimNow();
  EXPECT_EQ(links_.sent.size(), 1u);
  now_ = j.run_at;
  worker_.claimNow();
  EXPECT_EQ(links_.sent.size(), 2u);
}

TEST(QueueBackoff, DoublesUpToTheCapWithFullJitter) {
  QueueOptions o;
  o.retry_base = 1000ms;
  o.retry_cap = 60s;
  EXPECT_EQ(QueueWorker::backoff(o, 0, false), 1000ms);
  EXPECT_EQ(QueueWorker::backoff(o, 1, false), 2000ms);
  EXPECT_EQ(QueueWorker::backoff(o, 5, false), 32000ms);
  EXPECT_EQ(QueueWorker::backoff(o, 6, false), 60s);
  EXPECT_EQ(QueueWorker::backoff(o, 1000, false), 60s);
  for (int i = 0; i < 100; ++i) {
    auto d = QueueWorker::backoff(o, 3, true);
    EXPECT_GE(d, 1ms);
    EXPECT_LE(d, 8000ms);
  }
}

TEST_F(QueueWorkerTest, ADeadCoordinatorsJobIsTakenOnceItsLeaseExpires) {
  auto c = db_.createInstance(node_);
  store::ClaimRequest dead;
  dead.owner = "co_dead";
  dead.node_ids = {node_};
  ASSERT_EQ(db_.store->claimJobs(dead, now_)->size(), 1u);  // then it died
  worker_.resume();
  online();
  EXPECT_TRUE(links_.sent.empty());  // still leased
  now_ += dead.lease + 1s;
  worker_.sweepNow();
  worker_.claimNow();
  ASSERT_EQ(links_.sent.size(), 1u);
  EXPECT_EQ(op(c.operation->id).attempts, 2);
  // The dead attempt's completion is refused by the fence.
  store::Fence old{store::jobIdOfOperation(c.operation->id), 1, "co_dead"};
  EXPECT_EQ(*db_.store->completeJob(old, store::JobState::kSucceeded, std::nullopt,
                                    store::OperationOutcome{}, now_),
            store::FenceResult::kLost);
  EXPECT_EQ(op(c.operation->id).state, OperationState::kRunning);
  links_.sent[0].done(ok(view(c.instance->id, "running", 1)));
  EXPECT_EQ(op(c.operation->id).state, OperationState::kSucceeded);
}

TEST_F(QueueWorkerTest, ARestartedCoordinatorTakesItsKilledRunsJobAtOnceAndItsNodesAreNotOnline) {
  auto c = db_.createInstance(node_);
  const std::string killed = store::leaseOwner("host/127.0.0.1:7420", "run1");
  store::ClaimRequest dead;
  dead.owner = killed;
  dead.node_ids = {node_};
  ASSERT_EQ(db_.store->claimJobs(dead, now_)->size(), 1u);
  ASSERT_TRUE(db_.store->holdNodeLinks(killed, {node_}, now_ + 20s).ok());  // then SIGKILL

  auto o = options();
  o.identity = "host/127.0.0.1:7420";
  o.owner = store::leaseOwner(o.identity, "run2");
  QueueWorker restarted(*db_.store, links_, executor_, metrics_, o, [this] { return now_; });
  restarted.resume();  // the lease it held is retired: the node reads offline until it links
  EXPECT_FALSE(db_.store->getNode(node_)->linkLive(now_));
  links_.online.insert(node_);
  restarted.onNodeReady(node_);
  restarted.sweepNow();
  restarted.claimNow();  // no lease to wait out
  ASSERT_EQ(links_.sent.size(), 1u);
  EXPECT_EQ(op(c.operation->id).attempts, 2);
  EXPECT_EQ(job(c.operation->id).lease_owner, o.owner);
  EXPECT_EQ(db_.store->getNode(node_)->link_owner, o.owner);
  links_.sent[0].done(ok(view(c.instance->id, "running", 1)));
  EXPECT_EQ(op(c.operation->id).state, OperationState::kSucceeded);
}

TEST_F(QueueWorkerTest, ConcurrencyBoundsTheJobsInFlightAndAnAnswerFreesASlot) {
  worker_.resume();
  online();
  auto a = db_.createInstance(node_, "a");
  auto b = db_.createInstance(node_, "b");
  auto c = db_.createInstance(node_, "c");
  worker_.submit(*c.operation);
  ASSERT_EQ(links_.sent.size(), 2u);  // concurrency 2
  EXPECT_EQ(worker_.held(), 2u);
  // Created in the same millisecond, they run in job id order: any two go first.
  std::set<std::string> all = {a.operation->id, b.operation->id, c.operation->id};
  all.erase(links_.sent[0].request.job_id);
  all.erase(links_.sent[1].request.job_id);
  ASSERT_EQ(all.size(), 1u);
  links_.sent[0].done(ok(view(*links_.sent[0].request.instance_id, "running", 1)));
  ASSERT_EQ(links_.sent.size(), 3u);
  EXPECT_EQ(links_.sent[2].request.job_id, *all.begin());
}

TEST_F(QueueWorkerTest, HeartbeatsKeepTheLeaseAndALostLeaseDropsTheJob) {
  worker_.resume();
  online();
  auto c = db_.createInstance(node_);
  worker_.submit(*c.operation);
  auto before = *job(c.operation->id).lease_expires_at;
  now_ += 10s;
  worker_.heartbeatNow();
  EXPECT_EQ(*job(c.operation->id).lease_expires_at, before + 10s);
  // Someone else's sweeper took it (this worker was paused past its lease).
  now_ += options().lease + 1s;
  ASSERT_EQ(db_.store->sweepExpiredLeases(now_)->returned.size(), 1u);
  worker_.heartbeatNow();
  EXPECT_EQ(worker_.held(), 0u);
  links_.sent[0].done(ok(view(c.instance->id, "running", 1)));  // ignored
  EXPECT_NE(op(c.operation->id).state, OperationState::kSucceeded);
}

TEST_F(QueueWorkerTest, ShutdownGivesTheJobsBack) {
  worker_.resume();
  online();
  auto c = db_.createInstance(node_);
  worker_.submit(*c.operation);
  ASSERT_EQ(worker_.held(), 1u);
  worker_.shutdown();
  EXPECT_EQ(worker_.held(), 0u);
  EXPECT_EQ(job(c.operation->id).state, store::JobState::kAvailable);
  EXPECT_EQ(op(c.operation->id).state, OperationState::kWaiting);
  EXPECT_FALSE(db_.store->getNode(node_)->link_owner);
}

TEST_F(QueueWorkerTest, DeleteRemovesTheInstanceOrRestoresItsDesiredState) {
  worker_.resume();
  online();
  auto c = db_.createInstance(node_);
  worker_.submit(*c.operation);
  links_.sent[0].done(ok(view(c.instance->id, "running", 1)));
  auto del = db_.store->startOperation({store::OperationKind::kInstanceDelete,
                                        c.instance->id,
                                        db_.user,
                                        {{"previous_desired_state", "stopped"}},
                                        "deleted"});
  worker_.submit(del->second);
  ASSERT_EQ(links_.sent.size(), 2u);
  EXPECT_EQ(links_.sent[1].request.kind, "lifecycle.delete");
  EXPECT_EQ(links_.sent[1].request.params, json::object());
  links_.sent[1].done(proto::makeError(ErrorCode::kFailedPrecondition, "rm failed"));
  EXPECT_EQ(op(del->second.id).state, OperationState::kFailed);
  EXPECT_EQ(inst(c.instance->id).desired_state, "stopped");

  auto again = db_.store->startOperation({store::OperationKind::kInstanceDelete,
                                          c.instance->id,
                                          db_.user,
                                          {{"previous_desired_state", "stopped"}},
                                          "deleted"});
  worker_.submit(again->second);
  links_.sent[2].done(ok({{"deleted", true}}));
  EXPECT_EQ(op(again->second.id).state, OperationState::kSucceeded);
  EXPECT_EQ(db_.store->getInstance(c.instance->id).error().code, ErrorCode::kNotFound);
}

TEST_F(QueueWorkerTest, AnOperationOfADeletedNodeSaysSo) {
  auto c = db_.createInstance(node_);
  ASSERT_TRUE(db_.store->deleteNode(node_).ok());
  worker_.submit(*c.operation);
  auto waiting = op(c.operation->id);
  EXPECT_EQ(waiting.state, OperationState::kWaiting);
  EXPECT_NE(waiting.error->message.find("does not exist"), std::string::npos);
}

TEST_F(QueueWorkerTest, JobsWithoutAnOperationRunTheirKindsHandler) {
  std::vector<std::string> ran;
  worker_.setHandler("billing.enforce", [&](const store::Job& j, auto done) {
    ran.push_back(j.payload.value("account", ""));
    done(json{{"ok", true}});
  });
  worker_.resume();
  store::NewJob n;
  n.queue = store::QueueName::kBillingEnforcement;
  n.kind = "billing.enforce";
  n.payload = {{"account", "usr_1"}};
  auto j = db_.store->enqueueJob(n, now_);
  store::NewJob unknown = n;
  unknown.kind = "mystery";
  auto u = db_.store->enqueueJob(unknown, now_);
  worker_.claimNow();
  EXPECT_EQ(ran, std::vector<std::string>{"usr_1"});
  EXPECT_EQ(db_.store->getJob(j->id)->state, store::JobState::kSucceeded);
  auto failed = *db_.store->getJob(u->id);
  EXPECT_EQ(failed.state, store::JobState::kFailed);
  EXPECT_NE(failed.last_error->message.find("no worker handles"), std::string::npos);
}

TEST(OperationOutcome, IgnoresAResultAboutAnotherInstance) {
  store::Operation op;
  op.id = "op_1";
  op.instance_id = "in_1";
  op.node_id = "nd_1";
  auto o = operationOutcome(
      op,
      gateway::JobOutcome{"op_1", {{"instance", {{"id", "in_2"}, {"state_version", 1}}}}, false});
  EXPECT_EQ(o.state, OperationState::kSucceeded);
  EXPECT_FALSE(o.observe);
  auto bad_state = operationOutcome(
      op, gateway::JobOutcome{
              "op_1",
              {{"instance", {{"id", "in_1"}, {"state", "dancing"}, {"state_version", 1}}}},
              false});
  ASSERT_TRUE(bad_state.observe);
  EXPECT_FALSE(bad_state.observe->state);  // unknown states are not taken
}

/// The real loop's order: posted work runs when the test says, after what is already queued.
class DeferringExecutor final : public common::Executor {
 public:
  void post(std::function<void()> fn) override { posted.push_back(std::move(fn)); }
  std::shared_ptr<common::Timer> runAfter(std::chrono::milliseconds d,
                                          std::function<void()> fn) override {
    return timers.runAfter(d, std::move(fn));
  }
  std::chrono::steady_clock::time_point steadyNow() const override { return timers.steadyNow(); }
  void runPosted() {
    while (!posted.empty()) {
      auto fn = std::move(posted.front());
      posted.erase(posted.begin());
      fn();
    }
  }
  std::vector<std::function<void()>> posted;
  gateway::testing::ManualExecutor timers;
};

/// Counts completeJobs calls and their sizes; fails the next `fail_batches` batches of 2+.
class CountingStore final : public store::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  proto::Result<std::vector<store::FenceResult>> completeJobs(
      const std::vector<store::JobCompletion>& jobs, common::Time now) override {
    sizes.push_back(jobs.size());
    if (jobs.size() > 1 && fail_batches > 0) {
      --fail_batches;
      return proto::makeError(ErrorCode::kUnavailable, "disk I/O error");
    }
    return ForwardingStore::completeJobs(jobs, now);
  }
  std::vector<size_t> sizes;
  int fail_batches = 0;
};

class QueueWorkerBatchTest : public QueueWorkerTest {
 protected:
  QueueOptions wide() {
    auto o = options();
    o.concurrency[store::QueueName::kProvisioning] = 8;
    return o;
  }
  /// Three creates sent to the agent, answered back to back before the loop turns.
  std::vector<store::CreateOutcome> threeAnswered(QueueWorker& w) {
    links_.online.insert(node_);
    std::vector<store::CreateOutcome> made;
    for (const char* k : {"a", "b", "c"}) made.push_back(db_.createInstance(node_, k));
    w.resume();
    deferring_.runPosted();
    EXPECT_EQ(links_.sent.size(), 3u);
    for (auto& sent : links_.sent) sent.done(ok(view(*sent.request.instance_id, "installed", 2)));
    return made;
  }
  CountingStore counting_{*db_.store};
  DeferringExecutor deferring_;
};

TEST_F(QueueWorkerBatchTest, AnswersArrivingTogetherAreWrittenInOneTransaction) {
  QueueWorker w(counting_, links_, deferring_, metrics_, wide(), [this] { return now_; });
  auto made = threeAnswered(w);
  EXPECT_TRUE(counting_.sizes.empty());  // not yet: after the answers already queued
  EXPECT_EQ(op(made[0].operation->id).state, OperationState::kRunning);
  deferring_.runPosted();
  EXPECT_EQ(counting_.sizes, std::vector<size_t>{3});
  for (const auto& m : made) {
    EXPECT_EQ(op(m.operation->id).state, OperationState::kSucceeded);
    EXPECT_EQ(job(m.operation->id).state, store::JobState::kSucceeded);
    EXPECT_EQ(inst(m.instance->id).state, "installed");
  }
}

TEST_F(QueueWorkerBatchTest, AFailedBatchIsWrittenOneJobAtATime) {
  counting_.fail_batches = 1;
  QueueWorker w(counting_, links_, deferring_, metrics_, wide(), [this] { return now_; });
  auto made = threeAnswered(w);
  deferring_.runPosted();
  EXPECT_EQ(counting_.sizes, (std::vector<size_t>{3, 1, 1, 1}));
  for (const auto& m : made) EXPECT_EQ(op(m.operation->id).state, OperationState::kSucceeded);
}

TEST_F(QueueWorkerBatchTest, ShutdownWritesTheAnswersStillQueued) {
  QueueWorker w(counting_, links_, deferring_, metrics_, wide(), [this] { return now_; });
  auto made = threeAnswered(w);
  w.shutdown();
  EXPECT_EQ(counting_.sizes, std::vector<size_t>{3});
  for (const auto& m : made) EXPECT_EQ(op(m.operation->id).state, OperationState::kSucceeded);
  deferring_.runPosted();  // the posted flush finds nothing left
  EXPECT_EQ(counting_.sizes, std::vector<size_t>{3});
}

}  // namespace
}  // namespace zlh::coordinator::instances
