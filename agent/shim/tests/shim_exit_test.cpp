// The real zlh-shim binary: exit records, output at exit, flood protection, stop with grace.
#include <signal.h>
#include <unistd.h>

#include "agent/shim/tests/shim_harness.h"

namespace zlh::agent::shim::testing {
namespace {

namespace fs = std::filesystem;

bool contains(const std::string& s, const std::string& what) {
  return s.find(what) != std::string::npos;
}

std::string seqOutput(int n) {
  std::string out;
  for (int i = 1; i <= n; ++i) out += std::to_string(i) + "\r\n";
  return out;
}

TEST(ShimExit, BurstAtExitIsCompleteInLogClientAndRecord) {
  ShimHarness h({"/bin/sh", "-c", "read x; seq 1 100000; exit 3"});
  ASSERT_TRUE(h.startForeground());
  auto client = h.connect();
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE(client->attach(true).ok());
  ASSERT_TRUE(client->input("go\n").ok());
  Seen seen;
  readInto(
      *client, seen, [](const Seen& s) { return s.exit.has_value(); }, 30s);
  ASSERT_TRUE(seen.exit.has_value());
  EXPECT_EQ(h.waitExit(10s), 0);

  const std::string expected = "go\r\n" + seqOutput(100000);
  EXPECT_EQ(h.consoleLog(), expected) << "every byte reaches the console log";
  EXPECT_EQ(seen.replay + seen.live, expected) << "and the attached client";
  EXPECT_EQ(seen.dropped, 0u);

  auto record = h.exitRecord();
  EXPECT_EQ(record, *seen.exit);
  EXPECT_EQ(record["code"], 3);
  EXPECT_TRUE(record["signal"].is_null());
  auto lines = record["last_lines"];
  ASSERT_EQ(lines.size(), 50u);
  EXPECT_EQ(lines.back(), "100000");
  EXPECT_EQ(lines.front(), "99951");
  EXPECT_LE(record["started_at"].get<std::string>(), record["exited_at"].get<std::string>());
  EXPECT_TRUE(contains(record["exited_at"], "Z"));
  EXPECT_EQ(fs::status(h.path("exit_record")).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

TEST(ShimExit, BurstWithoutClientsAndLogRotation) {
  ShimHarness h({"/bin/sh", "-c", "seq 1 100000; exit 0"});
  h.spec()["console_log_max_bytes"] = 400000;
  ASSERT_TRUE(h.startForeground());
  EXPECT_EQ(h.waitExit(30s), 0);
  std::string expected = seqOutput(100000);  // 688,895 bytes: one rotation
  EXPECT_EQ(fs::file_size(h.path("console_log") + ".1"), 400000u);
  EXPECT_EQ(h.consoleLog(), expected);
  EXPECT_EQ(h.exitRecord()["last_lines"].back(), "100000");
}

TEST(ShimExit, IdleClientDoesNotBlockTheChildAndGetsDropped) {
  // ~50 MB of base64 while one attached client never reads.
  ShimHarness h({"/bin/sh", "-c", "read x; head -c 37500000 /dev/urandom | base64; echo END"});
  h.spec()["console_log_max_bytes"] = 200 * 1024 * 1024;
  ASSERT_TRUE(h.startForeground());
  auto idle = h.connect();
  ASSERT_TRUE(idle.ok());
  ASSERT_TRUE(idle->attach(true).ok());
  auto driver = h.connect();
  ASSERT_TRUE(driver.ok());
  ASSERT_TRUE(driver->status(5s).ok());  // the idle client's ATTACH was handled before this
  auto begin = std::chrono::steady_clock::now();
  ASSERT_TRUE(driver->input("go\n").ok());
  ASSERT_TRUE(waitFor([&] { return fs::exists(h.path("exit_record")); }, 60s));
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  auto total = fs::file_size(h.path("console_log"));
  std::printf("[ flood ] %.1f MB through the shim in %.2f s (%.1f MB/s) with an idle client\n",
              total / 1e6, secs, total / 1e6 / secs);
  EXPECT_GT(total, 50'000'000u);
  EXPECT_LT(secs, 30.0) << "the child must never wait for a slow client";

  Seen seen;
  readInto(
      *idle, seen, [](const Seen& s) { return s.exit.has_value(); }, 10s);
  ASSERT_TRUE(seen.exit.has_value());
  EXPECT_GE(seen.dropped_frames, 1);
  EXPECT_GT(seen.dropped, 0u);
  EXPECT_EQ(seen.replay.size() + seen.live.size() + seen.dropped, total)
      << "every output byte was either delivered or reported as dropped";
  EXPECT_EQ(h.exitRecord()["last_lines"].back(), "END");
  EXPECT_EQ(h.waitExit(10s), 0);
}

TEST(ShimExit, SigtermToTheShimStopsTheChildWithinTheGracePeriod) {
  ShimHarness h(
      {"/bin/sh", "-c", "trap 'echo ignoring TERM' TERM; echo up; while :; do read x; done"});
  h.spec()["stop_grace_s"] = 1;
  ASSERT_TRUE(h.startForeground());
  ASSERT_TRUE(waitFor([&] { return contains(h.consoleLog(), "up"); }, 10s));
  auto begin = std::chrono::steady_clock::now();
  ASSERT_GT(h.shimPid(), 1);
  ASSERT_EQ(::kill(h.shimPid(), SIGTERM), 0);
  EXPECT_EQ(h.waitExit(15s), 0);
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  EXPECT_GE(secs, 0.9);
  auto record = h.exitRecord();
  EXPECT_EQ(record["signal"], "KILL");
  EXPECT_TRUE(processGone(h.childPid()));
  EXPECT_FALSE(fs::exists(h.path("socket")));
}

TEST(ShimExit, LeftoverBackgroundProcessesAreKilled) {
  ShimHarness h({"/bin/sh", "-c", "sleep 1000 & echo bg=$!; exit 7"});
  ASSERT_TRUE(h.startForeground());
  EXPECT_EQ(h.waitExit(15s), 0);
  EXPECT_EQ(h.exitRecord()["code"], 7);
  std::string log = h.consoleLog();
  auto at = log.find("bg=");
  ASSERT_NE(at, std::string::npos) << log;
  pid_t bg = std::stoi(log.substr(at + 3));
  ASSERT_GT(bg, 1);
  EXPECT_TRUE(waitFor([&] { return processGone(bg); }, 5s));
  if (!processGone(bg)) ::kill(bg, SIGKILL);
}

TEST(ShimExit, ExecFailureIsAnExitRecordNotAHang) {
  ShimHarness h({"/nonexistent/game-binary", "--flag"});
  ASSERT_TRUE(h.startForeground());
  EXPECT_EQ(h.waitExit(15s), 0);
  auto record = h.exitRecord();
  EXPECT_EQ(record["code"], 127);
  ASSERT_FALSE(record["last_lines"].empty());
  EXPECT_TRUE(contains(record["last_lines"].back(), "zlh-shim: exec /nonexistent/game-binary"))
      << record.dump();
}

TEST(ShimExit, ClientAttachedWithoutReplayGetsTheExit) {
  ShimHarness h({"/bin/sh", "-c", "echo last words; read x; exit 1"});
  ASSERT_TRUE(h.startForeground());
  auto watcher = h.connect();
  ASSERT_TRUE(watcher.ok());
  ASSERT_TRUE(watcher->attach(false).ok());
  ASSERT_TRUE(watcher->input("\n").ok());
  Seen seen;
  readInto(
      *watcher, seen, [](const Seen& s) { return s.exit.has_value(); }, 10s);
  ASSERT_TRUE(seen.exit.has_value());
  EXPECT_EQ((*seen.exit)["code"], 1);
  EXPECT_TRUE(contains((*seen.exit)["last_lines"].dump(), "last words"));
}

}  // namespace
}  // namespace zlh::agent::shim::testing
