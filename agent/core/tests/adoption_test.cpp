// Re-adoption: an Agent-like core (registry + supervisor) started twice over one state dir.
#include <signal.h>

#include <fstream>

#include "agent/core/supervisor/shim_launcher.h"
#include "agent/core/tests/supervisor_harness.h"
#include "agent/core/util/files.h"
#include "agent/shim/shim_client.h"

namespace zlh::agent::core::testing {
namespace {
namespace fs = std::filesystem;
using S = sdk::InstanceState;

class AdoptionTest : public SupervisorHarness {
 protected:
  // A record in `state` as the lifecycle plugin would leave it.
  void record(MiniCore& core, const std::string& id, std::vector<S> path) {
    ASSERT_TRUE(core.registry->create(id, "process", {}).ok());
    for (S s : path) ASSERT_TRUE(core.registry->transition(id, s, "").ok());
  }
  static std::vector<S> toRunning() { return {S::kInstalled, S::kStarting, S::kRunning}; }
};

TEST_F(AdoptionTest, LiveShimIsAdoptedWithTheSameChild) {
  pid_t child = 0;
  {
    auto first = startCore();
    record(first, "live", toRunning());
    auto st = spawn(*first.supervisor, "live", sh("while read l; do echo echo:$l; done"));
    ASSERT_TRUE(st.ok());
    child = st->child_pid;
  }  // agent stops: the shim and its child keep running
  ASSERT_TRUE(processAlive(child));

  auto second = startCore();
  auto& sup = *second.supervisor;
  EXPECT_EQ(second.report.adopted, 1u);
  EXPECT_EQ(second.report.exits_while_down, 0u);
  EXPECT_EQ(sup.adopted(), std::vector<std::string>{"live"});
  EXPECT_TRUE(sup.alive("live"));
  std::vector<std::string> exits;
  auto sub =
      sup.onExit([&](const std::string& id, const sdk::ExitRecord&) { exits.push_back(id); });
  sup.releaseExits();
  auto st = status(sup, "live");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->child_pid, child);

  std::string out;
  sdk::OutputWatcher w;
  w.on_output = [&](std::string_view c) { out += c; };
  auto watch = sup.watchOutput("live", false, w);
  ASSERT_TRUE(watch.ok());
  runFor(100ms);
  ASSERT_TRUE(sup.sendInput("live", "again\n").ok());
  ASSERT_TRUE(runUntil([&] { return out.find("echo:again") != std::string::npos; }));
  EXPECT_TRUE(exits.empty());
  ASSERT_TRUE(sup.signal("live", "KILL").ok());
  ASSERT_TRUE(runUntil([&] { return exits.size() == 1; }));
}

TEST_F(AdoptionTest, ExitsWhileDownAreDeliveredAfterRelease) {
  {
    auto first = startCore();
    record(first, "quit", toRunning());
    record(first, "vanished", toRunning());
    record(first, "stopped", {S::kInstalled, S::kStarting, S::kRunning, S::kStopped});
    ASSERT_TRUE(spawn(*first.supervisor, "quit", sh("read x; exit 5")).ok());
    auto v = spawn(*first.supervisor, "vanished", sh("sleep 1000"));
    ASSERT_TRUE(v.ok());
    ASSERT_TRUE(spawn(*first.supervisor, "stopped", sh("exit 0")).ok());
    ASSERT_TRUE(runUntil([&] { return first.supervisor->lastExit("stopped").has_value(); }));
    // While the agent is "down": "quit" exits normally, "vanished"'s shim is SIGKILLed.
    first.supervisor.reset();
    ::kill(v->shim_pid, SIGKILL);
  }
  auto client = shim::ShimClient::connect((runtime_dir_ / "instances/quit/shim.sock").string());
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE(client->input("\n").ok());
  client->close();
  ASSERT_TRUE(runUntil([&] { return !fs::exists(runtime_dir_ / "instances/quit/shim.pid"); }));
  ASSERT_TRUE(runUntil([&] {
    return !fs::exists(runtime_dir_ / "instances/vanished/shim.sock") ||
           !probeShim(runtime_dir_ / "instances/vanished/shim.sock", 200ms).ok();
  }));

  auto second = startCore();
  auto& sup = *second.supervisor;
  EXPECT_EQ(second.report.adopted, 0u);
  EXPECT_EQ(second.report.exits_while_down, 2u);  // "stopped" was handled before
  std::map<std::string, sdk::ExitRecord> exits;
  auto sub = sup.onExit([&](const std::string& id, const sdk::ExitRecord& e) { exits[id] = e; });
  runFor(200ms);
  EXPECT_TRUE(exits.empty()) << "exits must wait until the plugins started";
  sup.releaseExits();
  ASSERT_EQ(exits.size(), 2u);
  EXPECT_EQ(exits["quit"].code, 5);
  EXPECT_FALSE(exits["quit"].lost);
  EXPECT_TRUE(exits["vanished"].lost);
  ASSERT_TRUE(sup.lastExit("stopped"));
  EXPECT_EQ(sup.lastExit("stopped")->code, 0);
  runFor(200ms);
  EXPECT_EQ(exits.size(), 2u);
}

TEST_F(AdoptionTest, OrphanShimsStoppedAndStaleDirsRemoved) {
  pid_t orphan_shim = 0, orphan_child = 0;
  {
    auto first = startCore();
    auto st = spawn(*first.supervisor, "orphan", sh("sleep 1000"));  // no registry record
    ASSERT_TRUE(st.ok());
    orphan_shim = st->shim_pid;
    orphan_child = st->child_pid;
  }
  fs::create_directories(runtime_dir_ / "instances/stale");
  std::ofstream(runtime_dir_ / "instances/stale/spec.json") << "{}";

  auto second = startCore();
  EXPECT_EQ(second.report.orphans_stopped, 1u);
  EXPECT_EQ(second.report.stale_dirs_removed, 1u);
  EXPECT_FALSE(fs::exists(runtime_dir_ / "instances/stale"));
  EXPECT_TRUE(runUntil([&] { return !processAlive(orphan_shim) && !processAlive(orphan_child); }));
}

}  // namespace
}  // namespace zlh::agent::core::testing
