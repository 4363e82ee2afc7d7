#include "plugins/system/system_plugin.h"

#include <gtest/gtest.h>

#include "agent/sdk/testing/fake_plugin_context.h"
#include "plugins/system/factory.h"

namespace zlh::plugins::system {
namespace {
namespace sdk = agent::sdk;
using nlohmann::json;

struct Fixture : ::testing::Test {
  sdk::testing::FakePluginContext ctx{"system"};
  std::unique_ptr<sdk::PluginFactory> factory = makeFactory();
  std::unique_ptr<sdk::Plugin> plugin;

  void SetUp() override {
    ctx.setNodeId("nd_1");
    ctx.setAgentVersion("9.9.9");
    auto cfg = factory->configSchema().validate(json::object());
    ASSERT_TRUE(cfg.ok());
    auto p = factory->create(*cfg, ctx);
    ASSERT_TRUE(p.ok());
    plugin = std::move(p.value());
    ASSERT_TRUE(plugin->start().ok());
  }

  sdk::Result<json> run(const std::string& kind) {
    std::optional<sdk::Result<json>> answer;
    sdk::Job job;
    job.job_id = "j1";
    job.kind = kind;
    plugin->handleJob(job,
                      sdk::JobReply([&](sdk::Result<json> r) { answer.emplace(std::move(r)); }));
    ctx.runPending();
    EXPECT_TRUE(answer.has_value());
    return answer ? std::move(*answer) : sdk::makeError(sdk::ErrorCode::kInternal, "no answer");
  }
};

TEST_F(Fixture, NameAndKinds) {
  EXPECT_EQ(factory->name(), "system");
  EXPECT_EQ(plugin->jobKinds(), std::vector<std::string>{"system.info"});
}

TEST_F(Fixture, InfoReportsHostFactsAndCountsRuns) {
  auto r = run("system.info");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE((*r)["hostname"].get<std::string>().empty());
  EXPECT_FALSE((*r)["kernel"].get<std::string>().empty());
  EXPECT_GE((*r)["cpus"].get<int>(), 1);
  EXPECT_GT((*r)["memory_bytes"].get<uint64_t>(), 0u);
  EXPECT_EQ((*r)["agent_version"], "9.9.9");
  EXPECT_EQ((*r)["node_id"], "nd_1");
  EXPECT_EQ((*r)["runs"], 1);
  EXPECT_EQ((*run("system.info"))["runs"], 2);

  sdk::MetricsWriter w;
  plugin->collectMetrics(w);
  EXPECT_NE(w.text().find("zlh_system_info_runs_total 2\n"), std::string::npos);
  EXPECT_TRUE(w.problems().empty());
}

TEST_F(Fixture, OtherKindIsUnimplemented) {
  auto r = run("system.nope");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, sdk::ErrorCode::kUnimplemented);
}

TEST_F(Fixture, RejectsAnyConfigKey) {
  auto r = factory->configSchema().validate(json{{"x", 1}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "x: unknown key");
}

}  // namespace
}  // namespace zlh::plugins::system
