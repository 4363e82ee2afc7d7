// ShimSupervisor against the real zlh-shim binary: daemonized shims with /bin/sh children.
#include <signal.h>
#include <sys/stat.h>

#include <ctime>
#include <thread>

#include "agent/core/supervisor/shim_launcher.h"
#include "agent/core/tests/supervisor_harness.h"
#include "agent/core/util/files.h"

namespace zlh::agent::core::testing {
namespace {
namespace fs = std::filesystem;

struct Captured {
  std::string out;
  uint64_t dropped = 0;
  int replay_ends = 0;
  int closed = 0;
};

sdk::OutputWatcher capture(Captured& c) {
  sdk::OutputWatcher w;
  w.on_output = [&c](std::string_view chunk) { c.out += chunk; };
  w.on_dropped = [&c](uint64_t n) { c.dropped += n; };
  w.on_replay_end = [&c] { ++c.replay_ends; };
  w.on_closed = [&c] { ++c.closed; };
  return w;
}

struct Exits {
  std::vector<std::pair<std::string, sdk::ExitRecord>> seen;
  sdk::SubscriptionPtr sub;
  explicit Exits(sdk::Supervisor& sup) {
    sub = sup.onExit(
        [this](const std::string& id, const sdk::ExitRecord& e) { seen.emplace_back(id, e); });
  }
};

// "2025-01-31T12:00:00.123Z" -> ms since the epoch.
int64_t parseTimeMs(const std::string& t) {
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(t.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
    return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return int64_t(timegm(&tm)) * 1000 + ms;
}

mode_t modeOf(const fs::path& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_mode & 0777;
}

class SupervisorTest : public SupervisorHarness {};

TEST_F(SupervisorTest, ReplayInputAndOneExitWithRecord) {
  auto core = startCore();
  auto& sup = *core.supervisor;
  sup.releaseExits();
  Exits exits(sup);
  auto st = spawn(sup, "i1", sh("echo hello; read line; echo got:$line; exit 3"));
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_TRUE(st->running);
  EXPECT_GT(st->child_pid, 0);
  EXPECT_TRUE(sup.alive("i1"));
  EXPECT_EQ(sup.liveCount(), 1u);

  const ShimPaths paths = sup.layout().paths("i1");
  EXPECT_EQ(modeOf(paths.runtime_dir), 0700u);
  EXPECT_EQ(modeOf(paths.spec_file), 0600u);
  EXPECT_EQ(modeOf(paths.socket) & 0777, 0600u);
  EXPECT_TRUE(fs::exists(paths.console_log));
  EXPECT_EQ(paths.console_log.parent_path(), state_dir_ / "instances" / "i1");

  // "hello" reaches the scrollback; a watcher with replay sees it first.
  ASSERT_TRUE(runUntil([&] {
    auto log = readFile(paths.console_log);
    return log.ok() && log->find("hello") != std::string::npos;
  }));
  Captured c;
  auto watch = sup.watchOutput("i1", true, capture(c));
  ASSERT_TRUE(watch.ok());
  ASSERT_TRUE(runUntil([&] { return c.replay_ends == 1; }));
  EXPECT_NE(c.out.find("hello"), std::string::npos);

  ASSERT_TRUE(sup.sendInput("i1", "abc\n").ok());
  ASSERT_TRUE(runUntil([&] { return exits.seen.size() == 1 && c.closed == 1; }));
  EXPECT_NE(c.out.find("got:abc"), std::string::npos);
  EXPECT_EQ(exits.seen[0].first, "i1");
  const auto& rec = exits.seen[0].second;
  EXPECT_EQ(rec.code, 3);
  EXPECT_FALSE(rec.signal);
  EXPECT_FALSE(rec.lost);
  ASSERT_FALSE(rec.last_lines.empty());
  EXPECT_EQ(rec.last_lines.back(), "got:abc");
  EXPECT_FALSE(sup.alive("i1"));
  ASSERT_TRUE(sup.lastExit("i1"));
  EXPECT_EQ(sup.lastExit("i1")->code, 3);
  runFor(500ms);  // exactly once: nothing more arrives (EXIT frame, then the connection closes)
  EXPECT_EQ(exits.seen.size(), 1u);
  EXPECT_EQ(c.closed, 1);
  EXPECT_EQ(status(sup, "i1").error().code, sdk::ErrorCode::kFailedPrecondition);
  EXPECT_EQ(sup.sendInput("i1", "x").error().code, sdk::ErrorCode::kFailedPrecondition);
  EXPECT_FALSE(sup.watchOutput("i1", false, {}).ok());

  // A second run of the same instance: a fresh session, the record is replaced.
  auto again = spawn(sup, "i1", sh("exit 0"));
  ASSERT_TRUE(again.ok()) << again.error().message;
  ASSERT_TRUE(runUntil([&] { return exits.seen.size() == 2; }));
  EXPECT_EQ(exits.seen[1].second.code, 0);

  ASSERT_TRUE(sup.forget("i1").ok());
  EXPECT_FALSE(fs::exists(paths.runtime_dir));
  EXPECT_FALSE(fs::exists(paths.exit_record));
  EXPECT_FALSE(sup.lastExit("i1"));
}

TEST_F(SupervisorTest, ResizeSignalAndStatus) {
  auto core = startCore();
  auto& sup = *core.supervisor;
  sup.releaseExits();
  Exits exits(sup);
  ASSERT_TRUE(spawn(sup, "r1", sh("while read l; do stty size; done")).ok());
  Captured c;
  auto watch = sup.watchOutput("r1", false, capture(c));
  ASSERT_TRUE(watch.ok());
  ASSERT_TRUE(runUntil([&] { return c.replay_ends == 1; }));
  EXPECT_EQ(sup.resize("r1", 0, 10).error().code, sdk::ErrorCode::kInvalidArgument);
  ASSERT_TRUE(sup.resize("r1", 100, 30).ok());
  ASSERT_TRUE(sup.sendInput("r1", "\n").ok());
  ASSERT_TRUE(runUntil([&] { return c.out.find("30 100") != std::string::npos; })) << c.out;

  auto st = status(sup, "r1");
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(st->running);
  EXPECT_EQ(st->limits["applied"], false);

  EXPECT_EQ(sup.signal("r1", "NOPE").error().code, sdk::ErrorCode::kInvalidArgument);
  EXPECT_EQ(sup.signal("other", "TERM").error().code, sdk::ErrorCode::kFailedPrecondition);
  ASSERT_TRUE(sup.signal("r1", "sigterm").ok());
  ASSERT_TRUE(runUntil([&] { return exits.seen.size() == 1; }));
  EXPECT_EQ(exits.seen[0].second.signal, "TERM");
  EXPECT_FALSE(exits.seen[0].second.code);
}

TEST_F(SupervisorTest, LostExitWhenTheShimIsKilled) {
  auto core = startCore();
  auto& sup = *core.supervisor;
  sup.releaseExits();
  Exits exits(sup);
  // The child ignores SIGHUP: only the supervisor's clean-up ends it.
  auto st = spawn(sup, "k1", sh("trap '' HUP; while :; do sleep 0.1; done"));
  ASSERT_TRUE(st.ok());
  ASSERT_EQ(::kill(st->shim_pid, SIGKILL), 0);
  ASSERT_TRUE(runUntil([&] { return exits.seen.size() == 1; }));
  EXPECT_TRUE(exits.seen[0].second.lost);
  EXPECT_TRUE(exits.seen[0].second.toJson()["lost"].get<bool>());
  EXPECT_FALSE(sup.alive("k1"));
  EXPECT_TRUE(runUntil([&] { return !processAlive(st->child_pid); }, 5s))
      << "the orphaned child was not killed";
  runFor(300ms);
  EXPECT_EQ(exits.seen.size(), 1u);
}

TEST_F(SupervisorTest, SlowWatcherLosesOutputWithoutSlowingTheGame) {
  auto opts = options();
  opts.watcher_queue_bytes = 256 * 1024;
  auto core = startCore(opts);
  auto& sup = *core.supervisor;
  sup.releaseExits();
  Exits exits(sup);
  constexpr size_t kFlood = 5'000'000;
  ASSERT_TRUE(spawn(sup, "f1",
                    sh("read x; head -c " + std::to_string(kFlood) +
                       " /dev/zero | tr '\\0' x; echo; echo END"))
                  .ok());
  Captured slow, fast;
  auto slow_w = capture(slow);
  slow_w.on_output = [&slow](std::string_view chunk) {
    slow.out.append(chunk.size(), '.');  // count only
    std::this_thread::sleep_for(30ms);   // a watcher that cannot keep up
  };
  auto fast_w = capture(fast);
  auto a = sup.watchOutput("f1", false, std::move(slow_w));
  auto b = sup.watchOutput("f1", false, std::move(fast_w));
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(runUntil([&] { return slow.replay_ends == 1 && fast.replay_ends == 1; }));
  ASSERT_TRUE(sup.sendInput("f1", "\n").ok());
  ASSERT_TRUE(runUntil([&] { return exits.seen.size() == 1; }, 60s));
  ASSERT_TRUE(runUntil([&] { return slow.closed == 1 && fast.closed == 1; }, 60s));

  const auto& rec = exits.seen[0].second;
  EXPECT_EQ(rec.code, 0);
  auto log = readFile(sup.layout().paths("f1").console_log);
  ASSERT_TRUE(log.ok());
  const uint64_t total = log->size();
  EXPECT_GT(total, kFlood);
  // Every byte is either delivered or counted as dropped, for both watchers.
  EXPECT_EQ(slow.out.size() + slow.dropped, total);
  EXPECT_EQ(fast.out.size() + fast.dropped, total);
  EXPECT_GT(slow.dropped, 0u);
  // (The other watcher shares the loop the slow callback holds, so it may lose output too: what
  // matters is that neither the game nor memory pays for it.)
  // The game ran at PTY speed: far faster than the slow watcher could have taken its output
  // (5 MB at 64 KiB per 30 ms would need > 2.2 s).
  int64_t ran_ms = parseTimeMs(rec.exited_at) - parseTimeMs(rec.started_at);
  EXPECT_GE(ran_ms, 0);
  EXPECT_LT(ran_ms, 2000) << rec.started_at << " .. " << rec.exited_at;
  std::printf(
      "flood: %zu bytes in %lld ms, slow watcher got %zu, dropped %llu; fast got %zu, dropped "
      "%llu\n",
      static_cast<size_t>(total), static_cast<long long>(ran_ms), slow.out.size(),
      static_cast<unsigned long long>(slow.dropped), fast.out.size(),
      static_cast<unsigned long long>(fast.dropped));
}

TEST_F(SupervisorTest, SpawnErrors) {
  auto core = startCore();
  auto& sup = *core.supervisor;
  sup.releaseExits();
  Exits exits(sup);
  ASSERT_TRUE(spawn(sup, "c1", sh("sleep 1000")).ok());
  auto dup = spawn(sup, "c1", sh("sleep 1000"));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, sdk::ErrorCode::kConflict);
  EXPECT_EQ(sup.forget("c1").error().code, sdk::ErrorCode::kFailedPrecondition);
  EXPECT_EQ(spawn(sup, "bad/id", sh("true")).error().code, sdk::ErrorCode::kInvalidArgument);
  sdk::ProcessSpec empty;
  EXPECT_EQ(spawn(sup, "e1", empty).error().code, sdk::ErrorCode::kInvalidArgument);

  // An exec failure is a process exit (code 127 with the reason in the last lines).
  sdk::ProcessSpec missing = sh("");
  missing.command = {"/nonexistent/game"};
  auto st = spawn(sup, "m1", missing);
  ASSERT_TRUE(st.ok()) << st.error().message;
  ASSERT_TRUE(runUntil([&] { return !exits.seen.empty(); }));
  EXPECT_EQ(exits.seen[0].first, "m1");
  EXPECT_EQ(exits.seen[0].second.code, 127);

  auto opts = options();
  opts.shim_path = root_ / "no-such-shim";
  ShimSupervisor broken(loop_, opts);
  auto r = spawn(broken, "b1", sh("true"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, sdk::ErrorCode::kInternal);
  EXPECT_FALSE(broken.alive("b1"));

  auto long_opts = options();
  long_opts.runtime_dir = root_ / std::string(90, 'r');
  ShimSupervisor too_long(loop_, long_opts);
  auto l = spawn(too_long, "l1", sh("true"));
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error().code, sdk::ErrorCode::kInvalidArgument);
  EXPECT_NE(l.error().message.find("unix socket limit"), std::string::npos);

  ASSERT_TRUE(sup.signal("c1", "KILL").ok());
  ASSERT_TRUE(runUntil([&] { return exits.seen.size() == 2; }));
  EXPECT_EQ(exits.seen[1].second.signal, "KILL");
}

TEST_F(SupervisorTest, DestroyingTheSupervisorStopsNothing) {
  pid_t child = 0;
  {
    auto core = startCore();
    auto st = spawn(*core.supervisor, "d1", sh("sleep 1000"));
    ASSERT_TRUE(st.ok());
    child = st->child_pid;
  }  // the agent goes away
  EXPECT_TRUE(processAlive(child));
  EXPECT_TRUE(
      probeShim(SupervisorHarness::options().runtime_dir / "instances/d1/shim.sock", 2s).ok());
}

}  // namespace
}  // namespace zlh::agent::core::testing
