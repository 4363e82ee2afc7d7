#include "agent/core/plugins/plugin_host.h"

#include <gtest/gtest.h>

#include <random>

#include "agent/core/jobs/job_router.h"
#include "agent/core/tests/test_plugins.h"

namespace zlh::agent::core {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::Behavior;
using testing::TestFactory;
using testing::TestPluginSpec;

class PluginHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("zlh-host-" + std::to_string(std::random_device{}()));
    ContextEnv env;
    env.loop = &loop_;
    env.node_id = "nd_1";
    env.agent_version = "1.2.3";
    host_ = std::make_unique<PluginHost>(metrics_, env, dir_ / "plugins");
  }
  void TearDown() override {
    host_.reset();
    fs::remove_all(dir_);
  }

  EventLoop loop_{1};
  fs::path dir_;
  AgentMetrics metrics_{"test"};
  std::unique_ptr<PluginHost> host_;
};

TEST_F(PluginHostTest, ThrowingStartMarksFailedAndOthersKeepWorking) {
  TestFactory bad(TestPluginSpec{"bad", {"bad.run"}, Behavior::kReplyOk, /*throw_in_start=*/true});
  TestFactory good(TestPluginSpec{"good", {"good.run"}});
  host_->add(bad, sdk::ConfigValues());
  host_->add(good, sdk::ConfigValues());
  host_->startAll();

  auto states = host_->states();
  EXPECT_EQ(states["bad"], "failed");
  EXPECT_EQ(states["good"], "running");
  EXPECT_FALSE(host_->allRunning());
  EXPECT_EQ(metrics_.pluginFailures("bad"), 1u);
  EXPECT_EQ(metrics_.pluginFailures("good"), 0u);
  EXPECT_EQ(host_->ownerOf("bad.run"), nullptr);  // a failed plugin claims no job kinds
  ASSERT_NE(host_->ownerOf("good.run"), nullptr);

  // hello shows both, with state.
  auto infos = host_->infos();
  ASSERT_EQ(infos.size(), 2u);
  EXPECT_EQ(infos[0].state, "failed");
  EXPECT_EQ(infos[1].job_kinds, std::vector<std::string>{"good.run"});

  // The good one still runs jobs.
  JobStore store(dir_ / "jobs", JobStore::Options{});
  ASSERT_TRUE(store.open().ok());
  std::vector<proto::JobDone> done;
  JobRouter router(
      loop_, store, *host_, metrics_, [&](proto::JobDone d) { done.push_back(d); },
      [](proto::JobProgress) {});
  proto::JobStart js;
  js.job_id = "j1";
  js.kind = "good.run";
  router.start(js);
  ASSERT_TRUE(loop_.runUntil([&] { return !done.empty(); }, 2000ms));
  EXPECT_TRUE(done[0].result.has_value());

  sdk::MetricsWriter w;
  metrics_.write(w);
  const auto text = w.text();
  EXPECT_NE(text.find("zlh_agent_plugin_up{plugin=\"bad\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("zlh_agent_plugin_up{plugin=\"good\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("zlh_agent_plugin_failures_total{plugin=\"bad\"} 1\n"), std::string::npos);
}

TEST_F(PluginHostTest, StartErrorMarksFailed) {
  TestFactory f(TestPluginSpec{"meh", {"meh.run"}, Behavior::kReplyOk, false, /*fail_start=*/true});
  host_->add(f, sdk::ConfigValues());
  host_->startAll();
  EXPECT_EQ(host_->states()["meh"], "failed");
  EXPECT_EQ(metrics_.pluginFailures("meh"), 1u);
}

TEST_F(PluginHostTest, ThrowInHandleJobIsCountedAndThePluginKeepsRunning) {
  TestFactory f(TestPluginSpec{"t", {"t.run"}, Behavior::kThrowInJob});
  host_->add(f, sdk::ConfigValues());
  host_->startAll();
  sdk::Job job;
  job.job_id = "j";
  job.kind = "t.run";
  auto s = host_->dispatch("t", job, sdk::JobReply([](sdk::Result<nlohmann::json>) {}));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, sdk::ErrorCode::kInternal);
  EXPECT_EQ(metrics_.pluginFailures("t"), 1u);
  EXPECT_TRUE(host_->isRunning("t"));
}

TEST_F(PluginHostTest, ThrowInCollectMetricsIsCountedAndOthersStillReport) {
  TestFactory bad(TestPluginSpec{
      "bad", {"bad.run"}, Behavior::kReplyOk, false, false, /*throw_in_metrics=*/true});
  TestFactory good(TestPluginSpec{"good", {"good.run"}});
  host_->add(bad, sdk::ConfigValues());
  host_->add(good, sdk::ConfigValues());
  host_->startAll();
  sdk::MetricsWriter w;
  host_->collectMetrics(w);
  EXPECT_NE(w.text().find("zlh_good_runs_total 0"), std::string::npos);
  EXPECT_EQ(metrics_.pluginFailures("bad"), 1u);
}

TEST_F(PluginHostTest, DuplicateJobKindGoesToTheFirstPlugin) {
  TestFactory a(TestPluginSpec{"a", {"a.run"}});
  TestFactory b(TestPluginSpec{"b", {"a.run", "b.run"}});
  host_->add(a, sdk::ConfigValues());
  host_->add(b, sdk::ConfigValues());
  host_->startAll();
  EXPECT_EQ(*host_->ownerOf("a.run"), "a");
  EXPECT_EQ(*host_->ownerOf("b.run"), "b");
}

TEST_F(PluginHostTest, StopAllStopsAndCreatesStateDirs) {
  auto probe = std::make_shared<testing::TestPluginProbe>();
  TestFactory f(TestPluginSpec{"s", {"s.run"}}, probe);
  host_->add(f, sdk::ConfigValues());
  host_->startAll();
  EXPECT_TRUE(fs::is_directory(dir_ / "plugins" / "s"));
  EXPECT_EQ(fs::status(dir_ / "plugins" / "s").permissions() & fs::perms::all,
            fs::perms::owner_all);
  host_->stopAll();
  EXPECT_TRUE(probe->stopped);
  EXPECT_EQ(host_->states()["s"], "stopped");
}

}  // namespace
}  // namespace zlh::agent::core
