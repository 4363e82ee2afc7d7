#include "plugins/metrics/metrics_plugin.h"

#include <gtest/gtest.h>

#include "agent/sdk/testing/fake_plugin_context.h"
#include "plugins/metrics/factory.h"

namespace zlh::plugins::metrics {
namespace {
namespace sdk = agent::sdk;
using nlohmann::json;

const std::string kFixtures = ZLH_METRICS_FIXTURES;

TEST(MetricsPlugin, DefaultsAndFixtureScrape) {
  sdk::testing::FakePluginContext ctx{"metrics"};
  auto factory = makeFactory();
  EXPECT_EQ(factory->name(), "metrics");
  auto cfg = factory->configSchema().validate(json{{"procfs", kFixtures + "/proc"},
                                                   {"sysfs", kFixtures + "/sys"},
                                                   {"rootfs", kFixtures + "/root"}});
  ASSERT_TRUE(cfg.ok());
  auto p = factory->create(*cfg, ctx);
  ASSERT_TRUE(p.ok()) << p.error().message;
  auto& plugin = *p.value();
  ASSERT_TRUE(plugin.start().ok());
  EXPECT_TRUE(plugin.jobKinds().empty());
  sdk::MetricsWriter w;
  plugin.collectMetrics(w);
  EXPECT_TRUE(w.problems().empty());
  const std::string text = w.text();
  for (const char* c : {"cpu", "stat", "meminfo", "loadavg", "filesystem", "netdev", "diskstats",
                        "pressure", "uname", "time"})
    EXPECT_NE(text.find(std::string("node_scrape_collector_success{collector=\"") + c + "\"} 1\n"),
              std::string::npos)
        << c;
  plugin.stop();
}

TEST(MetricsPlugin, ConfigDefaultsMatchNodeExporter) {
  auto v = makeFactory()->configSchema().validate(json::object());
  ASSERT_TRUE(v.ok());
  auto c = metricsConfigFrom(*v);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->procfs, "/proc");
  EXPECT_EQ(c->sysfs, "/sys");
  EXPECT_EQ(c->collectors, allCollectorNames());
  EXPECT_EQ(c->netdev_exclude, std::vector<std::string>{"lo"});
}

TEST(MetricsPlugin, RejectsBadConfig) {
  auto schema = makeFactory()->configSchema();
  auto bad = [&](json j) {
    auto v = schema.validate(j);
    if (!v.ok()) return v.error().message();
    auto c = metricsConfigFrom(*v);
    return c.ok() ? std::string() : c.error().message;
  };
  EXPECT_NE(bad(json{{"collectors", {"cpu", "nope"}}}).find("unknown collector \"nope\""),
            std::string::npos);
  EXPECT_NE(bad(json{{"collectors", {"cpu", "cpu"}}}).find("listed twice"), std::string::npos);
  EXPECT_NE(bad(json{{"procfs", "proc"}}).find("absolute"), std::string::npos);
  EXPECT_EQ(bad(json{{"bogus", 1}}), "bogus: unknown key");
}

}  // namespace
}  // namespace zlh::plugins::metrics
