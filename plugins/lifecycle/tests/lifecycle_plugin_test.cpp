// Create, power actions and their serialization, delete, status, metrics, config.
#include <filesystem>

#include "plugins/lifecycle/factory.h"
#include "plugins/lifecycle/lifecycle_config.h"
#include "plugins/lifecycle/tests/plugin_fixture.h"

namespace zlh::plugins::lifecycle::test {
namespace {
namespace fs = std::filesystem;

struct LifecycleTest : PluginFixture {
  void SetUp() override {
    PluginFixture::SetUp();
    startPlugin();
  }
};

TEST_F(LifecycleTest, KindsAndUnknownInstance) {
  EXPECT_EQ(plugin->jobKinds().size(), 7u);
  auto r = run("lifecycle.start", "nope");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, sdk::ErrorCode::kNotFound);
  auto bad = run("lifecycle.status", "../x");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, sdk::ErrorCode::kInvalidArgument);
}

TEST_F(LifecycleTest, CreateInstallsStartsAndBecomesReady) {
  auto r = run("lifecycle.create", "i1",
               {{"template", "fake"},
                {"name", "My server"},
                {"params", {{"motd", "yo"}}},
                {"env", {{"EXTRA", "1"}}},
                {"resources", {{"memory_mb", 256}}}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  const json& v = (*r)["instance"];
  EXPECT_EQ(v["state"], "running");
  EXPECT_EQ(v["template"], "fake");
  EXPECT_EQ(v["name"], "My server");
  EXPECT_EQ(v["desired_state"], "running");
  EXPECT_EQ(v["address"], "127.0.0.1:30000");
  auto rec = reg.get("i1");
  ASSERT_TRUE(rec);
  EXPECT_TRUE(fs::exists(rec->data_dir / "motd.txt"));
  ASSERT_EQ(sup.spawns().size(), 1u);
  const auto& spec = sup.spawns()[0].spec;
  EXPECT_EQ(spec.command,
            (std::vector<std::string>{"fake-server", "--port", "30000", "--motd", "yo"}));
  EXPECT_EQ(spec.cwd, rec->data_dir);
  EXPECT_EQ(spec.env.at("GREETING"), "yo");
  EXPECT_EQ(spec.env.at("EXTRA"), "1");
  EXPECT_EQ(spec.env.at("PATH"), "/usr/bin:/bin");
  EXPECT_EQ(spec.memory_max_bytes, 256ull << 20);
  EXPECT_EQ(rec->spec["quiesce"]["before"], json::array({"save-off"}));
  EXPECT_EQ(rec->spec["stop"]["command"], "stop");
  EXPECT_EQ(rec->spec["port"], 30000);

  sup.pushOutput("i1", "[00:00:00] [Server thread/INFO]: Do");  // split across chunks
  sup.pushOutput("i1", "ne (0.3s)! For help\n");
  ctx.advance(milliseconds(0));
  EXPECT_EQ(state("i1"), State::kReady);
  EXPECT_EQ(reg.history("i1"),
            (std::vector<State>{State::kInstalling, State::kInstalled, State::kStarting,
                                State::kRunning, State::kReady}));
  auto ready = eventsOf("instance.ready");
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].body["state_version"], reg.get("i1")->state_version);
}

TEST_F(LifecycleTest, CreateWithBadParamsLeavesNothing) {
  auto r = run("lifecycle.create", "i1",
               {{"template", "fake"}, {"name", "x"}, {"params", {{"motd", 5}}}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, sdk::ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message, "params.motd: expected a string, got an integer");
  EXPECT_FALSE(reg.get("i1"));
  auto unknown = run("lifecycle.create", "i1", {{"template", "nope"}, {"name", "x"}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, sdk::ErrorCode::kInvalidArgument);
  EXPECT_EQ(unknown.error().message, "template: unknown template \"nope\"");
  auto noname = run("lifecycle.create", "i1", {{"template", "fake"}});
  ASSERT_FALSE(noname.ok());
  EXPECT_EQ(noname.error().message, "name: required string");
  EXPECT_TRUE(sup.spawns().empty());
}

TEST_F(LifecycleTest, FailedInstallRemovesRecordFilesAndPort) {
  writeTemplate("broken", R"(
name = "broken"
[[install.files]]
path = "first.txt"
content = "x"
[install.script]
command = ["sh", "-c", "echo cannot continue; exit 7"]
[start]
command = ["x"]
)");
  auto r = run("lifecycle.create", "b1", {{"template", "broken"}, {"name", "b"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, sdk::ErrorCode::kFailedPrecondition);
  EXPECT_NE(r.error().message.find("create b1: install.script: script sh exited with code 7; "
                                   "last output:\ncannot continue"),
            std::string::npos)
      << r.error().message;
  EXPECT_FALSE(reg.get("b1"));
  EXPECT_FALSE(fs::exists(ctx.stateRoot() / "instances" / "b1"));
  // The port went back: the next instance gets it.
  auto ok = run("lifecycle.create", "i2", {{"template", "fake"}, {"name", "x"}, {"start", false}});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)["instance"]["address"], "127.0.0.1:30000");
}

TEST_F(LifecycleTest, CreateWithoutStartAndRedelivery) {
  auto r = run("lifecycle.create", "i1", {{"template", "fake"}, {"name", "x"}, {"start", false}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)["instance"]["state"], "installed");
  EXPECT_EQ((*r)["instance"]["desired_state"], "stopped");
  EXPECT_TRUE(sup.spawns().empty());
  auto again =
      run("lifecycle.create", "i1", {{"template", "fake"}, {"name", "x"}, {"start", false}});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)["instance"]["state_version"], (*r)["instance"]["state_version"]);
  auto other = run("lifecycle.create", "i1", {{"template", "process"}, {"name", "x"}});
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, sdk::ErrorCode::kConflict);
  // Two instances get two ports.
  auto second =
      run("lifecycle.create", "i2", {{"template", "fake"}, {"name", "y"}, {"start", false}});
  EXPECT_EQ((*second)["instance"]["address"], "127.0.0.1:30001");
}

TEST_F(LifecycleTest, OnePowerActionAtATimeAndKillSupersedes) {
  ASSERT_TRUE(
      run("lifecycle.create", "i1", {{"template", "fake"}, {"name", "x"}, {"start", false}}).ok());
  auto start = send("lifecycle.start", "i1");
  ctx.runPending();
  ASSERT_TRUE(sup.spawnPending("i1"));
  EXPECT_FALSE(start->has_value());
  auto stop = run("lifecycle.stop", "i1", json::object(), false);
  ASSERT_FALSE(stop.ok());
  EXPECT_EQ(stop.error().code, sdk::ErrorCode::kConflict);
  EXPECT_EQ(stop.error().message, "another power action (start) is in progress");
  auto restart = run("lifecycle.restart", "i1", json::object(), false);
  EXPECT_EQ(restart.error().code, sdk::ErrorCode::kConflict);

  auto kill = send("lifecycle.kill", "i1");
  ASSERT_TRUE(start->has_value());  // superseded at once
  EXPECT_EQ((*start)->error().code, sdk::ErrorCode::kConflict);
  EXPECT_EQ((*start)->error().message, "start of instance i1 superseded by kill");
  EXPECT_FALSE(kill->has_value());
  sup.completeSpawn("i1");  // the shim comes up after all: it is killed
  ctx.runPending();
  ASSERT_FALSE(sup.signals().empty());
  EXPECT_EQ(sup.signals().back().value, "KILL");
  sup.exit("i1", sdk::testing::FakeSupervisor::exitSignal("KILL"));
  ctx.runPending();
  ASSERT_TRUE(kill->has_value());
  ASSERT_TRUE((*kill)->ok()) << (*kill)->error().message;
  EXPECT_EQ((***kill)["instance"]["state"], "stopped");
  EXPECT_EQ((***kill)["instance"]["desired_state"], "stopped");
  EXPECT_TRUE(eventsOf("instance.crashed").empty());
}

TEST_F(LifecycleTest, GracefulStopSendsTheConsoleCommand) {
  makeReady("i1");
  sup.on_input = [&](const std::string& id, const std::string& bytes) {
    if (bytes == "stop\n")
      ctx.post([&, id] { sup.exit(id, sdk::testing::FakeSupervisor::exitCode(0)); });
  };
  auto r = run("lifecycle.stop", "i1");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)["instance"]["state"], "stopped");
  EXPECT_EQ((*r)["instance"]["desired_state"], "stopped");
  ASSERT_EQ(sup.inputs().size(), 1u);
  EXPECT_EQ(sup.inputs()[0].bytes, "stop\n");
  EXPECT_TRUE(sup.signals().empty());
  EXPECT_TRUE(eventsOf("instance.crashed").empty());
  // Stopping a stopped instance answers at once.
  EXPECT_TRUE(run("lifecycle.stop", "i1").ok());
}

TEST_F(LifecycleTest, StopEscalatesToKillAfterTheTimeout) {
  makeReady("i1");
  auto stop = send("lifecycle.stop", "i1", {{"timeout_s", 3}});
  ctx.runPending();
  EXPECT_EQ(state("i1"), State::kStopping);
  advance(milliseconds(2900));
  EXPECT_TRUE(sup.signals().empty());
  advance(milliseconds(200));
  ASSERT_EQ(sup.signals().size(), 1u);
  EXPECT_EQ(sup.signals()[0].value, "KILL");
  sup.exit("i1", sdk::testing::FakeSupervisor::exitSignal("KILL"));
  ctx.runPending();
  ASSERT_TRUE(stop->has_value() && (*stop)->ok());
  EXPECT_EQ(state("i1"), State::kStopped);
  EXPECT_EQ(reg.get("i1")->reason, "killed after the stop timeout");
  auto bad = run("lifecycle.stop", "i1", {{"timeout_s", "soon"}});
  EXPECT_EQ(bad.error().code, sdk::ErrorCode::kInvalidArgument);
}

TEST_F(LifecycleTest, StopThatNeverExitsFailsAtItsDeadline) {
  makeReady("i1");
  auto stop = send("lifecycle.stop", "i1", {{"timeout_s", 2}});
  advance(seconds(2) + seconds(config.kill_timeout_s) + milliseconds(500));
  ASSERT_TRUE(stop->has_value());
  ASSERT_FALSE((*stop)->ok());
  EXPECT_EQ((*stop)->error().code, sdk::ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(state("i1"), State::kFailed);
  // The slot is free again: a start is accepted (the live shim makes the spawn conflict).
  auto start = send("lifecycle.start", "i1");
  ctx.runPending();
  EXPECT_TRUE(start->has_value());
}

TEST_F(LifecycleTest, RestartStopsThenStartsAgain) {
  makeReady("i1");
  sup.on_input = [&](const std::string& id, const std::string&) {
    ctx.post([&, id] { sup.exit(id, sdk::testing::FakeSupervisor::exitCode(0)); });
  };
  sup.setAutoCompleteSpawns(true);
  auto r = run("lifecycle.restart", "i1");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)["instance"]["state"], "running");
  EXPECT_EQ(sup.spawns().size(), 2u);
  auto h = reg.history("i1");
  std::vector<State> tail(h.end() - 4, h.end());
  EXPECT_EQ(tail, (std::vector<State>{State::kStopping, State::kStopped, State::kStarting,
                                      State::kRunning}));
}

TEST_F(LifecycleTest, DeleteKillsAndRemovesEverything) {
  makeReady("i1");
  fs::path dir = reg.get("i1")->dir;
  auto del = send("lifecycle.delete", "i1");
  ctx.runPending();
  ASSERT_EQ(sup.signals().size(), 1u);
  EXPECT_EQ(sup.signals()[0].value, "KILL");
  auto kill = send("lifecycle.kill", "i1");  // joins the delete
  sup.exit("i1", sdk::testing::FakeSupervisor::exitSignal("KILL"));
  ctx.runPending();
  ASSERT_TRUE(del->has_value());
  EXPECT_EQ(***del, (json{{"deleted", true}, {"existed", true}}));
  ASSERT_TRUE(kill->has_value() && (*kill)->ok());
  EXPECT_FALSE(reg.get("i1"));
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_EQ(sup.forgotten(), std::vector<std::string>{"i1"});
  EXPECT_EQ(*run("lifecycle.delete", "i1"), (json{{"deleted", true}, {"existed", false}}));
}

TEST_F(LifecycleTest, DeleteDuringInstallAbortsTheCreate) {
  auto create = send("lifecycle.create", "i1", {{"template", "fake"}, {"name", "x"}});
  auto del = send("lifecycle.delete", "i1");
  ctx.runPending();
  ASSERT_TRUE(create->has_value());
  EXPECT_FALSE((*create)->ok());
  ASSERT_TRUE(del->has_value());
  EXPECT_EQ(***del, (json{{"deleted", true}, {"existed", true}}));
  EXPECT_FALSE(reg.get("i1"));
  EXPECT_TRUE(sup.spawns().empty());
  auto kill_installing = send("lifecycle.create", "i2", {{"template", "fake"}, {"name", "x"}});
  auto kill = run("lifecycle.kill", "i2", json::object(), false);
  EXPECT_EQ(kill.error().code, sdk::ErrorCode::kFailedPrecondition);
  ctx.runPending();
}

TEST_F(LifecycleTest, StatusReportsProcessAndLastExit) {
  makeReady("i1");
  auto s = run("lifecycle.status", "i1");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)["instance"]["state"], "ready");
  EXPECT_TRUE((*s)["process"]["running"].get<bool>());
  EXPECT_TRUE((*s)["last_exit"].is_null());
  sup.exit("i1", sdk::testing::FakeSupervisor::exitCode(3));
  ctx.runPending();
  s = run("lifecycle.status", "i1");
  EXPECT_TRUE((*s)["process"].is_null());
  EXPECT_EQ((*s)["last_exit"]["code"], 3);
  EXPECT_EQ((*s)["crash_count"], 1);
}

TEST_F(LifecycleTest, MetricsCountStatesAndCrashes) {
  makeReady("i1");
  ASSERT_TRUE(
      run("lifecycle.create", "i2", {{"template", "fake"}, {"name", "y"}, {"start", false}}).ok());
  sup.exit("i1", sdk::testing::FakeSupervisor::exitCode(1));
  ctx.runPending();
  sdk::MetricsWriter w;
  plugin->collectMetrics(w);
  std::string text = w.text();
  EXPECT_TRUE(w.problems().empty());
  EXPECT_NE(text.find("zlh_lifecycle_instances{state=\"crashed\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("zlh_lifecycle_instances{state=\"installed\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("zlh_lifecycle_crashes_total 1\n"), std::string::npos);
  EXPECT_NE(text.find("zlh_lifecycle_installs_total{result=\"ok\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("zlh_lifecycle_readiness_duration_seconds_count 1\n"), std::string::npos);
}

TEST(LifecycleConfigTest, SchemaDefaultsAndErrors) {
  auto factory = makeFactory();
  EXPECT_EQ(factory->name(), "lifecycle");
  auto v = factory->configSchema().validate(json::object());
  ASSERT_TRUE(v.ok());
  auto c = lifecycleConfigFrom(*v);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->templates_dir, "/usr/share/zlh-agent/templates");
  EXPECT_EQ(c->port_range.first, 25565);
  EXPECT_EQ(c->port_range.last, 25664);
  EXPECT_EQ(c->listenHost(), "127.0.0.1");
  auto bad = factory->configSchema().validate(json{{"port_range", "9-1"}});
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE(lifecycleConfigFrom(*bad).ok());
  EXPECT_FALSE(factory->configSchema().validate(json{{"templates", "x"}}).ok());
}

}  // namespace
}  // namespace zlh::plugins::lifecycle::test
