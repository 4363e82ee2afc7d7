#include "agent/core/jobs/job_router.h"

#include <gtest/gtest.h>

#include <random>

#include "agent/core/tests/test_plugins.h"
#include "proto/v1/codec.h"

namespace zlh::agent::core {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using testing::Behavior;

// One agent's worth of job machinery on a real event loop, with test plugins.
class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("zlh-router-" + std::to_string(std::random_device{}()));
  }
  void TearDown() override {
    router_.reset();
    host_.reset();
    fs::remove_all(dir_);
  }

  void boot(Behavior behavior) {
    factory_ = std::make_unique<testing::TestFactory>(
        testing::TestPluginSpec{"test", {"test.run"}, behavior}, probe_);
    store_ = std::make_unique<JobStore>(dir_ / "jobs", JobStore::Options{});
    ASSERT_TRUE(store_->open().ok());
    ContextEnv env;
    env.loop = &loop_;
    host_ = std::make_unique<PluginHost>(metrics_, env, dir_ / "plugins");
    host_->add(*factory_, sdk::ConfigValues());
    host_->startAll();
    router_ = std::make_unique<JobRouter>(
        loop_, *store_, *host_, metrics_,
        [this](proto::JobDone d) { done_.push_back(std::move(d)); },
        [this](proto::JobProgress p) { progress_.push_back(std::move(p)); });
  }
  // Simulates an agent restart: new store, host and router over the same state dir.
  void restart(Behavior behavior) {
    router_.reset();
    host_.reset();
    boot(behavior);
  }

  static proto::JobStart job(const std::string& id, const std::string& kind = "test.run",
                             int64_t deadline_ms = 0) {
    proto::JobStart js;
    js.job_id = id;
    js.kind = kind;
    js.deadline_ms = deadline_ms;
    return js;
  }
  bool waitDone(size_t n, std::chrono::milliseconds t = 2000ms) {
    return loop_.runUntil([&] { return done_.size() >= n; }, t);
  }
  void settle() {
    loop_.runUntil([] { return false; }, 50ms);
  }

  EventLoop loop_{1};  // first: destroyed last
  fs::path dir_;
  AgentMetrics metrics_{"test"};
  std::shared_ptr<testing::TestPluginProbe> probe_ = std::make_shared<testing::TestPluginProbe>();
  std::unique_ptr<testing::TestFactory> factory_;
  std::unique_ptr<JobStore> store_;
  std::unique_ptr<PluginHost> host_;
  std::unique_ptr<JobRouter> router_;
  std::vector<proto::JobDone> done_;
  std::vector<proto::JobProgress> progress_;
};

TEST_F(RouterTest, UnknownKindIsUnimplemented) {
  boot(Behavior::kReplyOk);
  router_->start(job("j1", "nope.run"));
  ASSERT_EQ(done_.size(), 1u);
  ASSERT_TRUE(done_[0].error.has_value());
  EXPECT_EQ(done_[0].error->code, sdk::ErrorCode::kUnimplemented);
  EXPECT_EQ(done_[0].error->message, "unknown job kind \"nope.run\"");
  EXPECT_FALSE(store_->contains("j1"));  // not recorded: a later agent may know the kind
}

TEST_F(RouterTest, RunsAJobAndAnswersOnce) {
  boot(Behavior::kReplyOnPool);
  router_->start(job("j1"));
  ASSERT_TRUE(waitDone(1));
  EXPECT_EQ(done_[0].job_id, "j1");
  EXPECT_EQ((*done_[0].result)["runs"], 1);
  EXPECT_FALSE(done_[0].redelivered);
  EXPECT_EQ(metrics_.jobs("test", "test.run", JobOutcome::kOk), 1u);
}

TEST_F(RouterTest, RedeliveryReturnsTheRecordedResultWithoutRunningAgain) {
  boot(Behavior::kReplyOk);
  router_->start(job("j1"));
  ASSERT_TRUE(waitDone(1));
  router_->start(job("j1"));
  ASSERT_TRUE(waitDone(2));
  EXPECT_TRUE(done_[1].redelivered);
  EXPECT_EQ(*done_[1].result, *done_[0].result);
  EXPECT_EQ(probe_->runs, 1);
  EXPECT_EQ(metrics_.jobs("test", "test.run", JobOutcome::kRedelivered), 1u);
}

TEST_F(RouterTest, RunningJobIsNotStartedTwice) {
  boot(Behavior::kHold);
  router_->start(job("j1"));
  router_->start(job("j1"));
  settle();
  EXPECT_EQ(probe_->runs, 1);
  EXPECT_TRUE(done_.empty());
  probe_->releaseHeld(json{{"x", 1}});
  ASSERT_TRUE(waitDone(1));
  settle();
  EXPECT_EQ(done_.size(), 1u);
  EXPECT_EQ(*done_[0].result, (json{{"x", 1}}));
}

TEST_F(RouterTest, RecordSurvivesARestart) {
  boot(Behavior::kReplyOk);
  router_->start(job("j1"));
  ASSERT_TRUE(waitDone(1));
  restart(Behavior::kReplyOk);
  router_->start(job("j1"));
  ASSERT_TRUE(waitDone(2));
  EXPECT_TRUE(done_[1].redelivered);
  EXPECT_EQ(*done_[1].result, *done_[0].result);
  EXPECT_EQ(probe_->runs, 1);  // the probe is shared across the restart
}

TEST_F(RouterTest, DeadlineAnswersDeadlineExceededAndIgnoresTheLateReply) {
  boot(Behavior::kHold);
  router_->start(job("j1", "test.run", proto::nowUnixMs() + 100));
  ASSERT_TRUE(waitDone(1));
  ASSERT_TRUE(done_[0].error.has_value());
  EXPECT_EQ(done_[0].error->code, sdk::ErrorCode::kDeadlineExceeded);
  probe_->releaseHeld();  // too late
  settle();
  EXPECT_EQ(done_.size(), 1u);
  // The deadline result is the job's result: a redelivery returns it.
  router_->start(job("j1"));
  ASSERT_TRUE(waitDone(2));
  EXPECT_TRUE(done_[1].redelivered);
  EXPECT_EQ(done_[1].error->code, sdk::ErrorCode::kDeadlineExceeded);
}

TEST_F(RouterTest, PastDeadlineIsNotRun) {
  boot(Behavior::kReplyOk);
  router_->start(job("j1", "test.run", proto::nowUnixMs() - 1));
  ASSERT_TRUE(waitDone(1));
  EXPECT_EQ(done_[0].error->code, sdk::ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(probe_->runs, 0);
}

TEST_F(RouterTest, SecondReplyIsIgnored) {
  boot(Behavior::kReplyTwice);
  router_->start(job("j1"));
  ASSERT_TRUE(waitDone(1));
  settle();
  ASSERT_EQ(done_.size(), 1u);
  EXPECT_EQ((*done_[0].result)["runs"], 1);
}

TEST_F(RouterTest, DroppedReplyAnswersInternal) {
  boot(Behavior::kDropReply);
  router_->start(job("j1"));
  ASSERT_TRUE(waitDone(1));
  EXPECT_EQ(done_[0].error->code, sdk::ErrorCode::kInternal);
  EXPECT_EQ(done_[0].error->message, "plugin dropped the job without replying");
}

TEST_F(RouterTest, ThrowInHandleJobAnswersInternalOnce) {
  boot(Behavior::kThrowInJob);
  router_->start(job("j1"));
  ASSERT_TRUE(waitDone(1));
  settle();
  ASSERT_EQ(done_.size(), 1u);
  EXPECT_EQ(done_[0].error->code, sdk::ErrorCode::kInternal);
  EXPECT_NE(done_[0].error->message.find("boom in job"), std::string::npos);
  EXPECT_EQ(metrics_.pluginFailures("test"), 1u);
}

TEST_F(RouterTest, ProgressIsForwardedWhileRunning) {
  boot(Behavior::kProgress);
  router_->start(job("j1"));
  ASSERT_TRUE(waitDone(1));
  ASSERT_EQ(progress_.size(), 1u);
  EXPECT_EQ(progress_[0].job_id, "j1");
  EXPECT_EQ(progress_[0].percent, 50.0);
  EXPECT_EQ(progress_[0].message, "half");
}

TEST_F(RouterTest, BadJobIdIsRefused) {
  boot(Behavior::kReplyOk);
  router_->start(job(std::string(129, 'x')));
  ASSERT_EQ(done_.size(), 1u);
  EXPECT_EQ(done_[0].error->code, sdk::ErrorCode::kInvalidArgument);
  EXPECT_EQ(probe_->runs, 0);
}

}  // namespace
}  // namespace zlh::agent::core
