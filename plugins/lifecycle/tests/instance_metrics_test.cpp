// Per-instance metrics of the lifecycle plugin (docs/metrics.md, "Instances").
#include <unistd.h>

#include "plugins/lifecycle/tests/plugin_fixture.h"

namespace zlh::plugins::lifecycle::test {
namespace {
namespace fs = std::filesystem;

struct InstanceMetricsTest : PluginFixture {
  TempDir proc;

  void fakeProc(int pid, int ppid, int ticks, int rss_kb) {
    fs::create_directories(proc.path() / std::to_string(pid));
    std::ofstream(proc.path() / std::to_string(pid) / "stat")
        << pid << " (p) S " << ppid << " 1 1 0 -1 0 0 0 0 0 " << ticks << " 0 0 0 20 0 1 0\n";
    std::ofstream(proc.path() / std::to_string(pid) / "status")
        << "Name:\tp\nRssAnon:\t" << rss_kb << " kB\n";
  }

  std::string scrape() {
    sdk::MetricsWriter w;
    plugin->collectMetrics(w);
    EXPECT_TRUE(w.problems().empty());
    return w.text();
  }

  void settle() {
    for (int i = 0; i < 6; ++i) ctx.runPending();
  }
};

bool has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST_F(InstanceMetricsTest, SampledUsageStateAndRestarts) {
  fakeProc(4242, 4241, 1500, 300000);  // the game
  fakeProc(4243, 4242, 500, 1000);     // a child of it
  fakeProc(4241, 1, 99, 500);          // its shim: not counted
  config.procfs = proc.path().string();
  config.usage_interval_s = 10;
  config.disk_usage_interval_s = 60;
  startPlugin();
  auto a = send("lifecycle.create", "mc-1", {{"template", "fake"}, {"name", "srv"}});
  ctx.runPending();
  sdk::ProcessStatus st;
  st.running = true;
  st.shim_pid = 4241;
  st.child_pid = 4242;
  st.started_at = "2026-01-01T00:00:00Z";
  ASSERT_TRUE(sup.completeSpawn("mc-1", st));
  ctx.runPending();
  sup.pushOutput("mc-1", "Done (1.0s)!\n");
  ctx.advance(milliseconds(0));
  ASSERT_EQ(state("mc-1"), State::kReady);

  const std::string l = "{instance_id=\"mc-1\",template=\"fake\"";
  std::string text = scrape();
  EXPECT_TRUE(has(text, "zlh_instance_up" + l + "} 1"));
  EXPECT_TRUE(has(text, "zlh_instance_state" + l + ",state=\"ready\"} 1"));
  EXPECT_TRUE(has(text, "zlh_instance_state" + l + ",state=\"stopped\"} 0"));
  EXPECT_TRUE(has(text, "zlh_instance_restarts_total" + l + "} 0"));
  EXPECT_NE(text.find("zlh_instance_uptime_seconds" + l + "} "), std::string::npos);
  // Not sampled yet: absent rather than a made-up 0.
  EXPECT_EQ(text.find("zlh_instance_cpu_seconds_total"), std::string::npos);
  EXPECT_EQ(text.find("zlh_instance_players_online"), std::string::npos);  // not Minecraft

  advance(seconds(11));
  settle();
  text = scrape();
  EXPECT_TRUE(has(text, "zlh_instance_cpu_seconds_total" + l + "} 20"));
  EXPECT_TRUE(has(text, "zlh_instance_memory_bytes" + l + "} " +
                            sdk::MetricsWriter::formatValue(301000.0 * 1024)));
  EXPECT_EQ(text.find("zlh_instance_cgroup_memory_bytes"), std::string::npos);  // no cgroup
  EXPECT_NE(text.find("zlh_instance_disk_bytes" + l + "} "), std::string::npos);
  // Uptime from the shim's start time (wall clock), not from when the agent saw it.
  const auto at = text.find("zlh_instance_uptime_seconds" + l + "} ");
  ASSERT_NE(at, std::string::npos);
  EXPECT_GT(std::stod(text.substr(text.find("} ", at) + 2)), 1e6);

  // A crash and its automatic restart count per instance.
  sdk::ExitRecord ex;
  ex.code = 1;
  sup.exit("mc-1", ex);
  ctx.runPending();
  EXPECT_TRUE(has(scrape(), "zlh_instance_up" + l + "} 0"));
  advance(seconds(30));
  settle();
  if (sup.spawnPending("mc-1")) {
    sup.completeSpawn("mc-1", st);
    settle();
  }
  text = scrape();
  EXPECT_TRUE(has(text, "zlh_instance_restarts_total" + l + "} 1")) << text;
  for (const char* personal : {"srv", "name"}) EXPECT_EQ(text.find(personal), std::string::npos);
}

}  // namespace
}  // namespace zlh::plugins::lifecycle::test
