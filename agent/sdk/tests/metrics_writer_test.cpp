#include "agent/sdk/metrics_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace zlh::agent::sdk {
namespace {

TEST(MetricsWriter, WritesHelpAndTypeOncePerFamilyAndGroupsSamples) {
  MetricsWriter w;
  w.counter("zlh_x_total", "Xs.", 1, {{"a", "1"}});
  w.gauge("zlh_y_bytes", "Ys.", 2);
  w.counter("zlh_x_total", "Xs.", 3, {{"a", "2"}});
  EXPECT_EQ(w.text(),
            "# HELP zlh_x_total Xs.\n"
            "# TYPE zlh_x_total counter\n"
            "zlh_x_total{a=\"1\"} 1\n"
            "zlh_x_total{a=\"2\"} 3\n"
            "# HELP zlh_y_bytes Ys.\n"
            "# TYPE zlh_y_bytes gauge\n"
            "zlh_y_bytes 2\n");
  EXPECT_TRUE(w.problems().empty());
}

TEST(MetricsWriter, EscapesLabelValuesAndHelp) {
  EXPECT_EQ(MetricsWriter::escapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  MetricsWriter w;
  w.gauge("zlh_g", "line1\nback\\slash", 1, {{"path", "C:\\x \"q\"\n"}});
  EXPECT_EQ(w.text(),
            "# HELP zlh_g line1\\nback\\\\slash\n"
            "# TYPE zlh_g gauge\n"
            "zlh_g{path=\"C:\\\\x \\\"q\\\"\\n\"} 1\n");
}

TEST(MetricsWriter, FormatsValues) {
  EXPECT_EQ(MetricsWriter::formatValue(0), "0");
  EXPECT_EQ(MetricsWriter::formatValue(42), "42");
  EXPECT_EQ(MetricsWriter::formatValue(0.25), "0.25");
  EXPECT_EQ(MetricsWriter::formatValue(1e21), "1e+21");
  EXPECT_EQ(MetricsWriter::formatValue(INFINITY), "+Inf");
  EXPECT_EQ(MetricsWriter::formatValue(-INFINITY), "-Inf");
  EXPECT_EQ(MetricsWriter::formatValue(NAN), "NaN");
}

TEST(MetricsWriter, RefusesBadNamesAndCountersWithoutTotal) {
  MetricsWriter w;
  w.counter("zlh_things", "no suffix", 1);
  w.gauge("9bad", "bad", 1);
  w.gauge("zlh_ok", "ok", 1, {{"__reserved", "x"}});
  EXPECT_EQ(w.problems().size(), 3u);
  EXPECT_EQ(w.text().find("zlh_things"), std::string::npos);
  EXPECT_EQ(w.text().find("9bad"), std::string::npos);
}

TEST(MetricsWriter, RefusesOneFamilyWithTwoTypes) {
  MetricsWriter w;
  w.gauge("zlh_a_total", "a", 1);
  w.counter("zlh_a_total", "a", 2);
  ASSERT_EQ(w.problems().size(), 1u);
  EXPECT_EQ(w.problems()[0], "zlh_a_total written as counter and gauge");
  EXPECT_EQ(w.text().find(" 2\n"), std::string::npos);
}

TEST(MetricsWriter, WritesCumulativeHistogram) {
  Histogram h({0.1, 1});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(0.5);
  h.observe(7);
  MetricsWriter w;
  w.histogram("zlh_d_seconds", "D.", h.snapshot(), {{"kind", "k"}});
  EXPECT_EQ(w.text(),
            "# HELP zlh_d_seconds D.\n"
            "# TYPE zlh_d_seconds histogram\n"
            "zlh_d_seconds_bucket{kind=\"k\",le=\"0.1\"} 1\n"
            "zlh_d_seconds_bucket{kind=\"k\",le=\"1\"} 3\n"
            "zlh_d_seconds_bucket{kind=\"k\",le=\"+Inf\"} 4\n"
            "zlh_d_seconds_sum{kind=\"k\"} 8.05\n"
            "zlh_d_seconds_count{kind=\"k\"} 4\n");
}

TEST(MetricsWriter, EmptyWriterWritesNothing) { EXPECT_EQ(MetricsWriter().text(), ""); }

}  // namespace
}  // namespace zlh::agent::sdk

namespace zlh::agent::sdk {
namespace {

// The real linter, when this machine has it (Debian's prometheus package ships promtool).
TEST(MetricsWriter, PassesPromtoolCheckMetrics) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "promtool not installed";
  MetricsWriter w;
  w.gauge("zlh_agent_build_info", "Build.", 1, {{"version", "1.0 \"beta\"\\n"}});
  w.counter("zlh_test_requests_total", "Requests.", 3, {{"path", "/a\nb"}});
  Histogram h(defaultDurationBuckets());
  h.observe(0.2);
  w.histogram("zlh_test_duration_seconds", "Durations.", h.snapshot(), {{"kind", "x"}});
  w.gauge("zlh_test_temperature_celsius", "Weird values.", INFINITY);
  const std::string path = ::testing::TempDir() + "/zlh_metrics.txt";
  {
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(w.text().c_str(), f);
    std::fclose(f);
  }
  EXPECT_EQ(std::system(("promtool check metrics < " + path + " >/dev/null 2>&1").c_str()), 0)
      << w.text();
  std::remove(path.c_str());
}

}  // namespace
}  // namespace zlh::agent::sdk

namespace zlh::agent::sdk {
namespace {

TEST(MetricsWriterReset, NextScrapeStartsCleanAndMayChangeTypeOrHelp) {
  MetricsWriter w;
  w.gauge("zlh_a_seconds", "A.", 1, {{"k", "v"}});
  w.counter("zlh_b_total", "B.", 2);
  w.counter("zlh_b", "no _total", 3);  // a problem
  ASSERT_EQ(w.problems().size(), 1u);
  w.reset();
  EXPECT_TRUE(w.problems().empty());
  EXPECT_EQ(w.text(), "");  // families without samples are left out
  w.counter("zlh_b_total", "B, new help.", 4);
  w.counter("zlh_a_seconds_total", "A2.", 5);
  w.gauge("zlh_b_total", "again", 6);  // conflicting type within one scrape: refused
  EXPECT_EQ(w.text(),
            "# HELP zlh_b_total B, new help.\n# TYPE zlh_b_total counter\nzlh_b_total 4\n"
            "# HELP zlh_a_seconds_total A2.\n# TYPE zlh_a_seconds_total counter\n"
            "zlh_a_seconds_total 5\n");
  ASSERT_EQ(w.problems().size(), 1u);
  w.reset();
  w.counter("zlh_a_seconds", "retyped", 1);  // a gauge last time: ok after reset
  EXPECT_TRUE(w.problems().size() == 1u);    // ...but a counter must still end in _total
  w.gauge("zlh_a_seconds", "retyped", 7);
  EXPECT_EQ(w.text(),
            "# HELP zlh_a_seconds retyped\n# TYPE zlh_a_seconds gauge\nzlh_a_seconds 7\n");
}

TEST(MetricsWriterNames, NodeExporterNamesAreWritable) {
  MetricsWriter w;
  w.gauge("node_load1", "1m load average.", 0.5);
  w.gauge("node_uname_info", "uname", 1, {{"sysname", "Linux"}});
  w.gauge("node_memory_MemTotal_bytes", "Memory information field MemTotal_bytes.", 1024);
  w.gauge("node_memory_HugePages_Total", "Memory information field HugePages_Total.", 0);
  EXPECT_TRUE(w.problems().empty());
  EXPECT_NE(w.text().find("node_memory_MemTotal_bytes 1024\n"), std::string::npos);
}

}  // namespace
}  // namespace zlh::agent::sdk
