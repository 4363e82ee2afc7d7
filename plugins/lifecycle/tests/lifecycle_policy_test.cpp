// Crash policy, readiness timeouts, hang detection and re-adoption at agent start.
#include "plugins/lifecycle/tests/plugin_fixture.h"

namespace zlh::plugins::lifecycle::test {
namespace {
using FakeSup = sdk::testing::FakeSupervisor;

struct PolicyTest : PluginFixture {
  void SetUp() override {
    PluginFixture::SetUp();
    startPlugin();
  }
};

TEST_F(PolicyTest, CleanExitIsAStopNotACrash) {
  makeReady("i1");
  sup.exit("i1", FakeSup::exitCode(0));
  ctx.runPending();
  auto rec = reg.get("i1");
  EXPECT_EQ(rec->state, State::kStopped);
  EXPECT_EQ(rec->desired_state, "stopped");
  EXPECT_EQ(rec->reason, "process exited cleanly (code 0)");
  EXPECT_TRUE(eventsOf("instance.crashed").empty());
  advance(seconds(120));
  EXPECT_EQ(sup.spawns().size(), 1u);
}

TEST_F(PolicyTest, CrashesRestartWithGrowingBackoffThenCrashLoopFails) {
  makeReady("i1");
  sup.setAutoCompleteSpawns(true);
  std::vector<double> delays;
  for (int n = 1; n <= 5; ++n) {
    size_t spawns = sup.spawns().size();
    sup.exit("i1", FakeSup::exitCode(1));
    ctx.runPending();
    auto crashed = eventsOf("instance.crashed");
    ASSERT_EQ(crashed.size(), size_t(n));
    const json& ev = crashed.back().body;
    EXPECT_EQ(ev["exit"]["code"], 1);
    EXPECT_EQ(ev["exit"]["crash_count"], n);
    if (n == 5) {
      EXPECT_FALSE(ev["exit"].contains("restart_in_s"));
      break;
    }
    delays.push_back(ev["exit"]["restart_in_s"].get<double>());
    EXPECT_EQ(state("i1"), State::kCrashed);
    advance(milliseconds(int64_t(delays.back() * 1000) - 100));
    EXPECT_EQ(sup.spawns().size(), spawns) << "restarted too early";
    advance(milliseconds(200));
    ASSERT_EQ(sup.spawns().size(), spawns + 1) << "no restart after " << delays.back() << " s";
    EXPECT_EQ(state("i1"), State::kRunning);
  }
  EXPECT_EQ(delays, (std::vector<double>{2, 4, 8, 16}));
  auto rec = reg.get("i1");
  EXPECT_EQ(rec->state, State::kFailed);
  EXPECT_EQ(rec->reason, "crash loop: 5 crashes in 600 s");
  size_t spawns = sup.spawns().size();
  advance(seconds(300), seconds(5));
  EXPECT_EQ(sup.spawns().size(), spawns);  // no more restarts
  // A start by hand is allowed again and starts counting afresh.
  auto r = run("lifecycle.start", "i1");
  ASSERT_TRUE(r.ok()) << r.error().message;
  sup.exit("i1", FakeSup::exitSignal("SEGV"));
  ctx.runPending();
  EXPECT_EQ(eventsOf("instance.crashed").back().body["exit"]["crash_count"], 1);
  EXPECT_EQ(reg.get("i1")->reason, "killed by signal SEGV");
}

TEST_F(PolicyTest, StayingReadyResetsTheCrashCounter) {
  makeReady("i1");
  sup.setAutoCompleteSpawns(true);
  sup.exit("i1", FakeSup::exitCode(1));
  advance(seconds(3));  // restart after 2 s
  ASSERT_EQ(state("i1"), State::kRunning);
  sup.pushOutput("i1", "Done (1s)!\n");
  ctx.advance(milliseconds(0));
  ASSERT_EQ(state("i1"), State::kReady);
  advance(seconds(61), seconds(5));  // stable_after_s = 60
  sup.exit("i1", FakeSup::exitCode(1));
  ctx.runPending();
  EXPECT_EQ(eventsOf("instance.crashed").back().body["exit"]["crash_count"], 1);
  EXPECT_EQ(eventsOf("instance.crashed").back().body["exit"]["restart_in_s"], 2.0);
}

TEST_F(PolicyTest, CrashWhileDesiredStoppedIsNotRestarted) {
  makeReady("i1");
  // A stop in flight makes the exit expected: stopped, never crashed.
  auto stop = send("lifecycle.stop", "i1");
  sup.exit("i1", FakeSup::exitCode(137));
  ctx.runPending();
  EXPECT_EQ(state("i1"), State::kStopped);
  EXPECT_TRUE(eventsOf("instance.crashed").empty());
  ASSERT_TRUE(stop->has_value() && (*stop)->ok());
}

TEST_F(PolicyTest, ReadinessTimeoutKeepsRunningWithAReason) {
  auto r = run("lifecycle.create", "i1", {{"template", "fake"}, {"name", "x"}});
  ASSERT_TRUE(r.ok());
  advance(seconds(31), seconds(1));
  auto rec = reg.get("i1");
  EXPECT_EQ(rec->state, State::kRunning);
  EXPECT_EQ(rec->reason, "readiness timed out after 30 s: log line \"Done (\" not seen");
  // A late line still makes it ready.
  sup.pushOutput("i1", "Done (45s)!\n");
  ctx.advance(milliseconds(0));
  EXPECT_EQ(state("i1"), State::kReady);
}

TEST_F(PolicyTest, ReadinessTimeoutCanFailTheInstance) {
  std::string text = std::string(kFakeTemplate);
  text.replace(text.find("name = \"fake\""), 13, "name = \"strict\"");
  text.replace(text.find("timeout_s = 30"), 14, "timeout_s = 5\non_timeout = \"fail\"");
  writeTemplate("strict", text);
  ASSERT_TRUE(run("lifecycle.create", "s1", {{"template", "strict"}, {"name", "x"}}).ok());
  advance(seconds(6), seconds(1));
  ASSERT_EQ(state("s1"), State::kStopping);
  EXPECT_EQ(sup.signals().back().value, "KILL");
  sup.exit("s1", FakeSup::exitSignal("KILL"));
  ctx.runPending();
  auto rec = reg.get("s1");
  EXPECT_EQ(rec->state, State::kFailed);
  EXPECT_EQ(rec->reason, "readiness timed out after 5 s: log line \"Done (\" not seen");
  EXPECT_TRUE(eventsOf("instance.crashed").empty());
}

TEST_F(PolicyTest, HangDetectionSetsAndClearsUnresponsive) {
  HttpServer http;
  http.serve("/health", "ok");
  config.port_range = {http.port(), http.port()};
  startPlugin();  // again, with the port of the test's HTTP server
  writeTemplate("web", R"(
name = "web"
[start]
command = ["web", "{{port}}"]
[readiness]
ping = "http"
path = "/health"
expect_status = 200
interval_ms = 100
[health]
interval_s = 5
unresponsive_after_s = 20
)");
  ASSERT_TRUE(run("lifecycle.create", "w1", {{"template", "web"}, {"name", "x"}}).ok());
  ctx.advance(milliseconds(0));
  ASSERT_EQ(state("w1"), State::kReady);
  http.serve("/health", "broken", 500);
  advance(seconds(15), seconds(5));
  EXPECT_FALSE(reg.get("w1")->unresponsive);
  advance(seconds(10), seconds(5));
  EXPECT_TRUE(reg.get("w1")->unresponsive);
  auto ev = eventsOf("instance.unresponsive");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].body["unresponsive"], true);
  EXPECT_EQ(ev[0].body["state_version"], reg.get("w1")->state_version);
  EXPECT_EQ(state("w1"), State::kReady);  // a hang is a flag, not a state
  http.serve("/health", "ok");
  advance(seconds(5), seconds(5));
  EXPECT_FALSE(reg.get("w1")->unresponsive);
  ev = eventsOf("instance.unresponsive");
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[1].body["unresponsive"], false);
}

TEST_F(PolicyTest, SpawnFailureFailsTheStart) {
  ASSERT_TRUE(
      run("lifecycle.create", "i1", {{"template", "fake"}, {"name", "x"}, {"start", false}}).ok());
  auto start = send("lifecycle.start", "i1");
  ctx.runPending();
  sup.failSpawn("i1", sdk::makeError(sdk::ErrorCode::kInternal, "exec fake-server: not found"));
  ctx.runPending();
  ASSERT_TRUE(start->has_value());
  ASSERT_FALSE((*start)->ok());
  EXPECT_EQ((*start)->error().message, "spawn: exec fake-server: not found");
  EXPECT_EQ(state("i1"), State::kFailed);
}

TEST_F(PolicyTest, ExitBeforeTheSpawnAnswerIsACrashAndTheStartIsAnswered) {
  ASSERT_TRUE(
      run("lifecycle.create", "i1", {{"template", "fake"}, {"name", "x"}, {"start", false}}).ok());
  auto start = send("lifecycle.start", "i1");
  ctx.runPending();
  sup.exit("i1", FakeSup::exitCode(1));  // the exit overtakes the spawn's answer
  ctx.runPending();
  ASSERT_TRUE(start->has_value());
  ASSERT_TRUE((*start)->ok());
  EXPECT_EQ((***start)["instance"]["state"], "crashed");
  EXPECT_EQ(eventsOf("instance.crashed").size(), 1u);
  sup.completeSpawn("i1");  // stale answer: not adopted as the instance's process
  ctx.runPending();
  EXPECT_EQ(sup.signals().back().value, "KILL");
  EXPECT_EQ(state("i1"), State::kCrashed);
}

TEST_F(PolicyTest, SpawnThatNeverAnswersHitsTheStartDeadline) {
  ASSERT_TRUE(
      run("lifecycle.create", "i1", {{"template", "fake"}, {"name", "x"}, {"start", false}}).ok());
  auto start = send("lifecycle.start", "i1");
  advance(seconds(config.start_timeout_s + 1), seconds(5));
  ASSERT_TRUE(start->has_value());
  EXPECT_EQ((*start)->error().code, sdk::ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(state("i1"), State::kFailed);
  sup.completeSpawn("i1");  // too late: killed, not adopted
  ctx.runPending();
  EXPECT_EQ(sup.signals().back().value, "KILL");
}

}  // namespace
}  // namespace zlh::plugins::lifecycle::test
