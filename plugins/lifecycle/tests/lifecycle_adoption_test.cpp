// Re-adoption at agent start, and readiness against the real test game server.
#include <signal.h>

#include "plugins/lifecycle/tests/plugin_fixture.h"

namespace zlh::plugins::lifecycle::test {
namespace {
using FakeSup = sdk::testing::FakeSupervisor;

struct AdoptionTest : PluginFixture {
  /// The agent goes away (the plugin with it); processes and records stay.
  void agentDown() {
    plugin->stop();
    plugin.reset();
    ctx.runPending();
  }
  /// Rewrites a record's state as the state file on disk would hold it.
  void setState(const std::string& id, State s, const std::string& desired = "running") {
    auto rec = *reg.get(id);
    rec.state = s;
    rec.desired_state = desired;
    reg.seed(rec);
  }
};

TEST_F(AdoptionTest, LiveReadyInstanceIsKeptAndNeverRespawned) {
  startPlugin();
  makeReady("i1");
  agentDown();
  sup.adopt("i1");
  startPlugin();
  advance(seconds(60), seconds(5));
  EXPECT_EQ(state("i1"), State::kReady);
  EXPECT_EQ(sup.spawns().size(), 1u);
  // Still managed: a stop works.
  auto stop = send("lifecycle.stop", "i1");
  ctx.runPending();
  EXPECT_EQ(sup.inputs().back().bytes, "stop\n");
}

TEST_F(AdoptionTest, LiveRunningInstanceFindsItsLineInTheScrollback) {
  startPlugin();
  ASSERT_TRUE(run("lifecycle.create", "i1", {{"template", "fake"}, {"name", "x"}}).ok());
  agentDown();
  sup.pushOutput("i1", "Done (2.0s)!\n");  // printed while the agent was away
  sup.adopt("i1");
  startPlugin();
  ctx.advance(milliseconds(0));
  EXPECT_EQ(state("i1"), State::kReady);
  EXPECT_EQ(sup.spawns().size(), 1u);
}

TEST_F(AdoptionTest, LiveProcessBehindAStaleRecordIsAdoptedNotDoubled) {
  startPlugin();
  makeReady("i1");
  agentDown();
  setState("i1", State::kStopped);  // the agent died between spawn and its transition
  sup.adopt("i1");
  startPlugin();
  ctx.advance(milliseconds(0));
  EXPECT_EQ(state("i1"), State::kReady);  // line found in the scrollback
  EXPECT_EQ(sup.spawns().size(), 1u);
}

TEST_F(AdoptionTest, ExitWhileTheAgentWasDownIsACrash) {
  startPlugin();
  makeReady("i1");
  agentDown();
  sup.exit("i1", FakeSup::exitCode(2));  // nobody listening
  startPlugin();
  EXPECT_EQ(state("i1"), State::kReady);  // waits for the queued exit
  sup.exit("i1", FakeSup::exitCode(2));   // the core delivers it right after start
  ctx.runPending();
  EXPECT_EQ(state("i1"), State::kCrashed);
  sup.setAutoCompleteSpawns(true);
  advance(seconds(3));
  EXPECT_EQ(sup.spawns().size(), 2u);
  EXPECT_EQ(state("i1"), State::kRunning);
}

TEST_F(AdoptionTest, ExitNeverDeliveredIsTreatedAsLost) {
  startPlugin();
  makeReady("i1");
  agentDown();
  sup.exit("i1", FakeSup::exitCode(9));
  startPlugin();
  advance(seconds(11));
  EXPECT_EQ(state("i1"), State::kCrashed);
  EXPECT_EQ(eventsOf("instance.crashed").back().body["exit"]["code"], 9);  // from lastExit()
}

TEST_F(AdoptionTest, InterruptedInstallFailsThenARedeliveredCreateStartsOver) {
  startPlugin();
  ASSERT_TRUE(
      run("lifecycle.create", "i1", {{"template", "fake"}, {"name", "x"}, {"start", false}}).ok());
  agentDown();
  setState("i1", State::kInstalling);
  (void)reg.update("i1", [](sdk::InstanceRecord& r) { r.spec["installed"] = false; });
  startPlugin();
  EXPECT_EQ(state("i1"), State::kFailed);
  auto r = run("lifecycle.create", "i1", {{"template", "fake"}, {"name", "x"}, {"start", false}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)["instance"]["state"], "installed");
}

TEST_F(AdoptionTest, DesiredRunningButDownIsStartedOnce) {
  startPlugin();
  ASSERT_TRUE(
      run("lifecycle.create", "i1", {{"template", "fake"}, {"name", "x"}, {"start", false}}).ok());
  ASSERT_TRUE(
      run("lifecycle.create", "i2", {{"template", "fake"}, {"name", "y"}, {"start", false}}).ok());
  agentDown();
  setState("i1", State::kCrashed, "running");
  setState("i2", State::kStopped, "running");
  sup.setAutoCompleteSpawns(true);
  startPlugin();
  EXPECT_EQ(sup.spawns().size(), 1u);  // i2 at once
  EXPECT_EQ(sup.spawns()[0].instance_id, "i2");
  advance(seconds(3));  // i1 after the first backoff step
  EXPECT_EQ(sup.spawns().size(), 2u);
  EXPECT_EQ(state("i1"), State::kRunning);
}

TEST_F(AdoptionTest, InterruptedDeleteIsFinished) {
  startPlugin();
  makeReady("i1");
  agentDown();
  (void)reg.update("i1", [](sdk::InstanceRecord& r) { r.desired_state = "deleted"; });
  sup.adopt("i1");
  startPlugin();
  EXPECT_EQ(sup.signals().back().value, "KILL");
  sup.exit("i1", FakeSup::exitSignal("KILL"));
  ctx.runPending();
  EXPECT_FALSE(reg.get("i1"));
}

// The mc-test template against the real fixture server: the plugin renders the command, the
// test plays the shim (runs it, forwards its console), readiness = "Done (" + Server List Ping.
TEST_F(AdoptionTest, McTestBecomesReadyThroughLogLineAndServerListPing) {
  uint16_t port = freePort();
  config.templates_dir = ZLH_TEMPLATES_DIR;
  config.fixtures_dir = std::string(ZLH_SOURCE_DIR) + "/tests/fixtures";
  config.port_range = {port, port};
  config.path_env = ::getenv("PATH");
  startPlugin();
  auto create = send("lifecycle.create", "mc1", {{"template", "mc-test"}, {"name", "mc"}});
  ctx.runPending();
  ASSERT_TRUE(sup.spawnPending("mc1")) << (create->has_value() ? (*create)->error().message : "");
  const auto& spec = sup.spawns().at(0).spec;
  EXPECT_EQ(spec.command.at(0), "node");
  EXPECT_EQ(spec.command.at(2), "--host");
  Child server(spec.command, spec.cwd, spec.env);
  sup.completeSpawn("mc1");
  ctx.runPending();
  ASSERT_TRUE(create->has_value() && (*create)->ok());
  size_t forwarded = 0;
  bool ready = eventually(
      [&] {
        std::string out = server.output();
        if (out.size() > forwarded) sup.pushOutput("mc1", out.substr(forwarded));
        forwarded = out.size();
        advance(milliseconds(250));
        return reg.get("mc1")->state == State::kReady;
      },
      milliseconds(30000));
  ASSERT_TRUE(ready) << server.output();
  EXPECT_EQ(eventsOf("instance.ready").size(), 1u);
  auto status = run("lifecycle.status", "mc1");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ((*status)["ping"]["players_online"], 0);
  EXPECT_EQ((*status)["ping"]["version"], "1.20.4");
  // Graceful stop through the console: the server exits 0.
  sup.on_input = [&](const std::string&, const std::string& bytes) { server.input(bytes); };
  auto stop = send("lifecycle.stop", "mc1");
  ctx.runPending();
  EXPECT_EQ(server.wait(milliseconds(10000)), 0) << server.output();
  sup.exit("mc1", FakeSup::exitCode(0));
  ctx.runPending();
  ASSERT_TRUE(stop->has_value() && (*stop)->ok());
  EXPECT_EQ(state("mc1"), State::kStopped);
}

}  // namespace
}  // namespace zlh::plugins::lifecycle::test
