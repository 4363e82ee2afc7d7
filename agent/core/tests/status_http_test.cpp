#include "agent/core/http/status_http.h"

#include <gtest/gtest.h>

#include <random>

#include "agent/core/tests/test_plugins.h"

namespace zlh::agent::core {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

class StatusHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("zlh-http-" + std::to_string(std::random_device{}()));
    ContextEnv env;
    env.loop = &loop_;
    host_ = std::make_unique<PluginHost>(metrics_, env, dir_);
    host_->add(factory_, sdk::ConfigValues());
    host_->startAll();
    http_ = std::make_unique<StatusHttp>(StatusHttp::Deps{
        &metrics_, host_.get(), [this] { return std::string_view(link_); }, "nd_1", "1.2.3"});
  }
  void TearDown() override {
    host_.reset();
    fs::remove_all(dir_);
  }
  HttpResponse get(const std::string& path, const std::string& method = "GET") {
    return http_->handle(HttpRequest{1, method, path, ""});
  }

  EventLoop loop_{1};
  fs::path dir_;
  AgentMetrics metrics_{"1.2.3"};
  testing::TestFactory factory_{testing::TestPluginSpec{"system", {"system.info"}}};
  std::unique_ptr<PluginHost> host_;
  std::unique_ptr<StatusHttp> http_;
  std::string link_ = "connecting";
};

TEST_F(StatusHttpTest, HealthzReportsLinkAndPlugins) {
  auto r = get("/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  auto j = json::parse(r.body);
  EXPECT_EQ(j["status"], "degraded");
  EXPECT_EQ(j["link"], "connecting");
  EXPECT_EQ(j["node_id"], "nd_1");
  EXPECT_EQ(j["version"], "1.2.3");
  EXPECT_EQ(j["plugins"], (json{{"system", "running"}}));
  link_ = "connected";
  EXPECT_EQ(json::parse(get("/healthz").body)["status"], "ok");
}

TEST_F(StatusHttpTest, MetricsGzipOnlyWhenAccepted) {
  auto plain = get("/metrics");
  EXPECT_EQ(plain.content_encoding, "");
  EXPECT_TRUE(plain.vary_accept_encoding);
  HttpRequest req{2, "GET", "/metrics", "deflate, gzip"};
  auto z = http_->handle(req);
  EXPECT_EQ(z.content_encoding, "gzip");
  ASSERT_GE(z.body.size(), 2u);
  EXPECT_EQ(uint8_t(z.body[0]), 0x1f);
  EXPECT_LT(z.body.size(), plain.body.size());
  req.accept_encoding = "gzip;q=0";
  EXPECT_EQ(http_->handle(req).content_encoding, "");
  req.path = "/healthz";
  req.accept_encoding = "gzip";
  EXPECT_EQ(http_->handle(req).content_encoding, "");  // small JSON: never compressed
}

TEST_F(StatusHttpTest, MetricsHasTheAgentFamilies) {
  metrics_.countDial(DialResult::kRefused);
  metrics_.setLinkUp(true);
  auto r = get("/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  for (const char* needle :
       {"zlh_agent_build_info{version=\"1.2.3\"} 1\n", "zlh_agent_link_up 1\n",
        "zlh_agent_link_dials_total{result=\"refused\"} 1\n",
        "zlh_agent_link_dials_total{result=\"ok\"} 0\n",
        "zlh_agent_plugin_up{plugin=\"system\"} 1\n",
        "zlh_agent_plugin_failures_total{plugin=\"system\"} 0\n",
        "zlh_agent_events_dropped_total 0\n", "# TYPE zlh_agent_scrape_duration_seconds gauge\n",
        "zlh_agent_link_lost_total 0\n", "# TYPE process_cpu_seconds_total counter\n",
        "# TYPE process_resident_memory_bytes gauge\n", "process_start_time_seconds 1",
        "zlh_system_runs_total 0\n"})
    EXPECT_NE(r.body.find(needle), std::string::npos) << needle << "\n" << r.body;
}

TEST_F(StatusHttpTest, UnknownPathIs404AndOtherMethodsAre405) {
  auto r = get("/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "not_found");
  r = get("/metrics", "POST");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.allow, "GET");
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "method_not_allowed");
}

}  // namespace
}  // namespace zlh::agent::core
