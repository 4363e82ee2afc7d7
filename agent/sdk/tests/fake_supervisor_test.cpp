#include "agent/sdk/testing/fake_supervisor.h"

#include <gtest/gtest.h>

#include "agent/sdk/testing/fake_plugin_context.h"

namespace zlh::agent::sdk::testing {
namespace {

TEST(FakeSupervisor, SpawnCompletesWhenTheTestSays) {
  FakePluginContext ctx;
  auto& sup = ctx.fakeSupervisor();
  std::optional<Result<ProcessStatus>> got;
  ProcessSpec spec;
  spec.command = {"java", "-jar", "server.jar"};
  ctx.supervisor().spawn("mc-1", spec, [&](Result<ProcessStatus> r) { got = std::move(r); });
  ctx.runPending();
  EXPECT_FALSE(got);
  EXPECT_TRUE(sup.spawnPending("mc-1"));
  ASSERT_EQ(sup.spawns().size(), 1u);
  EXPECT_EQ(sup.spawns()[0].spec.command[0], "java");
  EXPECT_TRUE(sup.completeSpawn("mc-1"));
  ASSERT_TRUE(got && got->ok());
  EXPECT_GT(got->value().child_pid, 0);
  EXPECT_TRUE(ctx.supervisor().alive("mc-1"));

  got.reset();
  ctx.supervisor().spawn("mc-1", spec, [&](Result<ProcessStatus> r) { got = std::move(r); });
  EXPECT_FALSE(got);  // never calls back inside the plugin's call
  ctx.runPending();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->error().code, ErrorCode::kConflict);

  ctx.supervisor().spawn("x", spec, [&](Result<ProcessStatus> r) { got = std::move(r); });
  EXPECT_TRUE(sup.failSpawn("x", makeError(ErrorCode::kInternal, "no java")));
  EXPECT_EQ(got->error().message, "no java");
  EXPECT_FALSE(ctx.supervisor().alive("x"));
}

TEST(FakeSupervisor, AutoCompleteInputSignalsAndHooks) {
  FakePluginContext ctx;
  auto& sup = ctx.fakeSupervisor();
  sup.setAutoCompleteSpawns(true);
  bool ok = false;
  ctx.supervisor().spawn("mc-1", {}, [&](Result<ProcessStatus> r) { ok = r.ok(); });
  ctx.runPending();
  ASSERT_TRUE(ok);

  std::vector<std::string> exits;
  auto sub = ctx.supervisor().onExit([&](const std::string& id, const ExitRecord& e) {
    exits.push_back(id + ":" + std::to_string(*e.code));
  });
  sup.on_input = [&](const std::string& id, const std::string& bytes) {
    if (bytes == "stop\n") ctx.post([&sup, id] { sup.exit(id, FakeSupervisor::exitCode(0)); });
  };
  EXPECT_TRUE(ctx.supervisor().signal("mc-1", "sigcont").ok());
  EXPECT_EQ(ctx.supervisor().signal("mc-1", "BOGUS").error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(ctx.supervisor().resize("mc-1", 80, 24).ok());
  EXPECT_TRUE(ctx.supervisor().sendInput("mc-1", "stop\n").ok());
  EXPECT_TRUE(exits.empty());
  ctx.runPending();
  EXPECT_EQ(exits, (std::vector<std::string>{"mc-1:0"}));
  EXPECT_EQ(sup.signals()[0].value, "CONT");
  EXPECT_EQ(sup.resizes()[0].value, "80x24");
  EXPECT_EQ(ctx.supervisor().lastExit("mc-1")->code, 0);
  EXPECT_EQ(ctx.supervisor().sendInput("mc-1", "x").error().code, ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(ctx.supervisor().forget("mc-1").ok());
  EXPECT_FALSE(ctx.supervisor().lastExit("mc-1"));
}

TEST(FakeSupervisor, WatchersGetReplayThenLiveThenClosed) {
  FakePluginContext ctx;
  auto& sup = ctx.fakeSupervisor();
  sup.adopt("mc-1");
  EXPECT_EQ(ctx.supervisor().adopted(), (std::vector<std::string>{"mc-1"}));
  sup.pushOutput("mc-1", "old\n");
  std::string seen;
  bool closed = false;
  OutputWatcher w;
  w.on_output = [&](std::string_view c) { seen += c; };
  w.on_replay_end = [&] { seen += "|"; };
  w.on_dropped = [&](uint64_t n) {
    seen += '<';
    seen += std::to_string(n);
    seen += '>';
  };
  w.on_closed = [&] { closed = true; };
  auto sub = ctx.supervisor().watchOutput("mc-1", true, w);
  ASSERT_TRUE(sub.ok());
  sup.pushOutput("mc-1", "early\n");  // before the replay was delivered: comes after it
  EXPECT_EQ(seen, "");
  ctx.runPending();
  EXPECT_EQ(seen, "old\n|early\n");
  sup.pushOutput("mc-1", "live\n");
  sup.pushDropped("mc-1", 5);
  EXPECT_EQ(seen, "old\n|early\nlive\n<5>");
  EXPECT_EQ(sup.watcherCount("mc-1"), 1u);
  sup.exit("mc-1", FakeSupervisor::exitSignal("KILL"));
  EXPECT_TRUE(closed);
  EXPECT_EQ(sup.watcherCount("mc-1"), 0u);
  EXPECT_EQ(ctx.supervisor().watchOutput("mc-1", false, {}).error().code,
            ErrorCode::kFailedPrecondition);
}

}  // namespace
}  // namespace zlh::agent::sdk::testing
