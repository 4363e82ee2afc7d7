#include "coordinator/common/metrics.h"

#include <gtest/gtest.h>

namespace zlh::coordinator::common {
namespace {

bool has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST(Metrics, KnownSeriesStartAtZero) {
  Metrics m("1.2.3");
  std::string t = m.render();
  EXPECT_TRUE(has(t, "zlh_build_info{version=\"1.2.3\"} 1"));
  EXPECT_TRUE(has(t, "zlh_agents_connected 0"));
  for (const auto& r : Metrics::authFailureReasons())
    EXPECT_TRUE(has(t, "zlh_agent_link_auth_failures_total{reason=\"" + r + "\"} 0")) << r;
  EXPECT_TRUE(has(t, "zlh_agent_link_replacements_total 0"));
  EXPECT_TRUE(has(t, "# TYPE zlh_http_requests_total counter"));
  EXPECT_TRUE(has(t, "# TYPE zlh_agents_connected gauge"));
}

TEST(Metrics, CountsAndRenders) {
  Metrics m("v");
  m.incHttpRequest("/api/v1/nodes/{id}", 200);
  m.incHttpRequest("/api/v1/nodes/{id}", 200);
  m.incAuthFailure("revoked");
  m.setAgentsConnected(3);
  m.incJob("system.echo", "ok");
  std::string t = m.render();
  EXPECT_TRUE(has(t, "zlh_http_requests_total{route=\"/api/v1/nodes/{id}\",code=\"200\"} 2"));
  EXPECT_TRUE(has(t, "zlh_agent_link_auth_failures_total{reason=\"revoked\"} 1"));
  EXPECT_TRUE(has(t, "zlh_agents_connected 3"));
  EXPECT_TRUE(has(t, "zlh_agent_jobs_total{kind=\"system.echo\",result=\"ok\"} 1"));
  EXPECT_EQ(m.value("zlh_agent_jobs_total", {"system.echo", "ok"}), 1);
}

TEST(Metrics, OddOrTooManyJobKindsFoldIntoOther) {
  Metrics m("v");
  m.incJob("Bad Kind\"", "ok");
  EXPECT_EQ(m.value("zlh_agent_jobs_total", {"other", "ok"}), 1);
  for (int i = 0; i < 100; ++i) m.incJob("k" + std::to_string(i), "ok");
  EXPECT_EQ(m.value("zlh_agent_jobs_total", {"k99", "ok"}), 0);
  EXPECT_GT(m.value("zlh_agent_jobs_total", {"other", "ok"}), 1);
  m.incJob("k0", "error");  // a kind already seen keeps its label
  EXPECT_EQ(m.value("zlh_agent_jobs_total", {"k0", "error"}), 1);
}

TEST(Metrics, GaugeSeriesAreReplacedWhole) {
  Metrics m("v");
  m.setGaugeSeries("zlh_operations", {{{"instance.create", "running"}, 2}, {{"instance.power", "failed"}, 1}});
  m.setGaugeSeries("zlh_instances", {{{"ready"}, 3}});
  std::string t = m.render();
  EXPECT_TRUE(has(t, "# TYPE zlh_operations gauge"));
  EXPECT_TRUE(has(t, "zlh_operations{kind=\"instance.create\",state=\"running\"} 2"));
  EXPECT_TRUE(has(t, "zlh_instances{state=\"ready\"} 3"));
  m.setGaugeSeries("zlh_operations", {{{"instance.create", "succeeded"}, 1}, {{"bad"}, 5}});
  EXPECT_EQ(m.value("zlh_operations", {"instance.create", "running"}), 0);
  EXPECT_EQ(m.value("zlh_operations", {"instance.create", "succeeded"}), 1);
  EXPECT_EQ(m.value("zlh_operations", {"bad"}), 0);  // wrong label count dropped
  m.setGaugeSeries("zlh_http_requests_total", {{{"x", "200"}, 9}});  // not a gauge: ignored
  EXPECT_EQ(m.value("zlh_http_requests_total", {"x", "200"}), 0);
}

TEST(Metrics, EscapesLabelValues) {
  Metrics m("a\"b\\c\nd");
  EXPECT_TRUE(has(m.render(), "zlh_build_info{version=\"a\\\"b\\\\c\\nd\"} 1"));
}

}  // namespace
}  // namespace zlh::coordinator::common
