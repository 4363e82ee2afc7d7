// The real zlh-shim binary: attach, replay, input, resize, signals, daemon mode, refusal.
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "agent/shim/tests/shim_harness.h"

namespace zlh::agent::shim::testing {
namespace {

namespace fs = std::filesystem;

bool contains(const std::string& s, const std::string& what) {
  return s.find(what) != std::string::npos;
}

TEST(ShimProcess, ReplayThenLiveInputAndCleanExit) {
  ShimHarness h({"/bin/sh", "-c", "echo early-output; read x; echo \"got $x\"; read y; exit 0"});
  ASSERT_TRUE(h.startForeground());
  ASSERT_TRUE(waitFor([&] { return contains(h.consoleLog(), "early-output"); }, 10s));

  auto client = h.connect();
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE(client->attach(true).ok());
  Seen seen;
  readInto(
      *client, seen, [](const Seen& s) { return s.replay_end; }, 10s);
  ASSERT_TRUE(seen.replay_end);
  EXPECT_TRUE(contains(seen.replay, "early-output")) << seen.replay;

  ASSERT_TRUE(client->input("hello\n").ok());
  readInto(
      *client, seen, [](const Seen& s) { return contains(s.live, "got hello"); }, 10s);
  EXPECT_TRUE(contains(seen.live, "got hello")) << seen.live;

  ASSERT_TRUE(client->input("\n").ok());
  readInto(
      *client, seen, [](const Seen& s) { return s.exit.has_value(); }, 10s);
  ASSERT_TRUE(seen.exit.has_value());
  EXPECT_EQ((*seen.exit)["code"], 0);
  EXPECT_TRUE((*seen.exit)["signal"].is_null());
  EXPECT_EQ(h.waitExit(10s), 0);
  EXPECT_EQ(h.exitRecord()["code"], 0);
  EXPECT_FALSE(fs::exists(h.path("socket")));
  EXPECT_FALSE(fs::exists(h.path("pid_file")));
  EXPECT_FALSE(fs::exists(h.path("socket") + ".lock"));
}

/// Attaches a client to the started shim, reads to the end of the replay and types "go" (which
/// the child's `read x` waits for).
void attachAndGo(ShimHarness& h, std::optional<ShimClient>& client, Seen& seen) {
  auto connected = h.connect();
  ASSERT_TRUE(connected.ok());
  client.emplace(std::move(*connected));
  ASSERT_TRUE(client->attach(true).ok());
  readInto(*client, seen, [](const Seen& s) { return s.replay_end; }, 10s);
  ASSERT_TRUE(client->input("go\n").ok());
}

TEST(ShimProcess, ABurstArrivesWholeInOrderAndShortOutputFollows) {
  // 300 KB of base64 (400,000 bytes in 5,264 lines of 76, each ending \r\n on the PTY): less
  // than a client's 1 MiB output limit, so nothing is dropped however the client keeps up.
  ShimHarness h({"/bin/sh", "-c",
                 "read x; head -c 300000 /dev/zero | base64; echo BURST-END; read y; "
                 "echo \"got $y\"; read z"});
  std::optional<ShimClient> client;
  Seen seen;
  ASSERT_TRUE(h.startForeground());
  ASSERT_NO_FATAL_FAILURE(attachAndGo(h, client, seen));
  readInto(*client, seen, [](const Seen& s) { return contains(s.live, "BURST-END"); }, 30s);
  ASSERT_TRUE(contains(seen.live, "BURST-END")) << seen.live.size();
  EXPECT_EQ(seen.dropped, 0u);
  const size_t start = seen.live.find("AAAA"), end = seen.live.find("BURST-END");
  ASSERT_NE(start, std::string::npos);
  const std::string burst = seen.live.substr(start, end - start);
  const std::string line = std::string(76, 'A') + "\r\n";
  EXPECT_EQ(burst.size(), 400'000 + 5'264 * 2);  // nothing lost or repeated
  for (size_t at = 0; at + line.size() <= burst.size(); at += line.size())
    ASSERT_EQ(burst.compare(at, line.size(), line), 0) << "out of order at " << at;
  EXPECT_LE(seen.largest_output, kOutputChunkBytes);  // the protocol's bound on OUTPUT frames
  ASSERT_TRUE(client->input("short\n").ok());
  readInto(*client, seen, [](const Seen& s) { return contains(s.live, "got short"); }, 10s);
  EXPECT_TRUE(contains(seen.live, "got short"));
  EXPECT_TRUE(waitFor([&] { return contains(h.consoleLog(), "got short"); }, 10s));
  EXPECT_TRUE(contains(h.consoleLog(), "BURST-END"));
}

/// One flood of 40 MB of base64 (30 MB of zeros) through a fresh shim to a client reading all the
/// time. Stops at the end marker, or at the first drop. Returns the bytes dropped, and the flood's
/// length as the client saw it.
void floodOnce(uint64_t& dropped, size_t& length) {
  ShimHarness h({"/bin/sh", "-c",
                 "read x; head -c 30000000 /dev/zero | base64; echo FLOOD-END; read y"});
  std::optional<ShimClient> client;
  Seen seen;
  ASSERT_TRUE(h.startForeground());
  ASSERT_NO_FATAL_FAILURE(attachAndGo(h, client, seen));
  auto ended = [](const Seen& s) {
    const size_t tail = std::min<size_t>(s.live.size(), kOutputChunkBytes + 16);
    return s.live.find("FLOOD-END", s.live.size() - tail) != std::string::npos;
  };
  readInto(*client, seen, [&](const Seen& s) { return s.dropped > 0 || ended(s); }, 60s);
  ASSERT_TRUE(seen.dropped > 0 || ended(seen)) << seen.live.size();
  dropped = seen.dropped;
  length = seen.live.find("FLOOD-END") - seen.live.find("AAAA");
}

TEST(ShimProcess, AClientThatKeepsUpLosesNothingInALongFlood) {
  // The child prints as fast as it can and the client reads all the time: the shim hands each
  // chunk on as it reads it. (It once queued up to 16 chunks per wakeup before writing any, which
  // passed the 1 MiB bound and dropped a whole MiB whenever the PTY kept up: with that code back,
  // three of four runs of this test saw all three floods drop.)
  // A reader that does not get the CPU for ~40 ms of a flood is behind by design, and a CI machine
  // took that from this test once (the child leads its own session, so its own scheduler
  // autogroup, weighed as much as the whole test run). With two busy loops beside it, about one
  // flood in three dropped. So one of three floods must lose nothing. (Renicing the child's
  // autogroup kept the reader ahead under load, but slowed the child so much that the old code
  // passed too.)
  const size_t lines = 40'000'000 / 76 + 1;  // the last line is shorter
  std::string tries;
  for (int attempt = 0; attempt < 3; ++attempt) {
    uint64_t dropped = 0;
    size_t length = 0;
    ASSERT_NO_FATAL_FAILURE(floodOnce(dropped, length));
    if (dropped == 0) {
      EXPECT_EQ(length, 40'000'000 + lines * 2);  // nothing lost or repeated
      return;
    }
    tries += " " + std::to_string(dropped);
  }
  ADD_FAILURE() << "every flood dropped output (bytes dropped:" << tries << ")";
}

TEST(ShimProcess, SocketIsPrivateAndStatusDescribesTheInstance) {
  ShimHarness h({"sleep", "1000"});
  h.spec()["env"]["FOO"] = "bar";
  ASSERT_TRUE(h.startForeground());
  struct stat st {};
  ASSERT_EQ(::stat(h.path("socket").c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto client = h.connect();
  ASSERT_TRUE(client.ok());
  auto status = client->status(5s);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ((*status)["instance_id"], "test-1");
  EXPECT_EQ((*status)["shim_pid"], h.shimPid());
  EXPECT_EQ((*status)["running"], true);
  EXPECT_TRUE((*status)["exit"].is_null());
  EXPECT_EQ((*status)["cols"], 120);
  EXPECT_EQ((*status)["limits"]["applied"], false);
  EXPECT_EQ((*status)["limits"]["reason"], "no limits requested");
  EXPECT_EQ((*status)["protocol"], kProtocolVersion);

  // The child's environment is exactly the spec's plus TERM; it leads its own session. "running"
  // is true from the fork: wait for the exec before reading what the program got.
  const std::string proc = "/proc/" + std::to_string(h.childPid());
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  std::error_code ec;
  while (std::filesystem::read_symlink(proc + "/exe", ec).filename() != "sleep" &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  std::string environ = readFile(proc + "/environ");
  EXPECT_TRUE(contains(environ, std::string("FOO=bar\0", 8)));
  EXPECT_TRUE(contains(environ, "TERM=xterm-256color"));
  EXPECT_FALSE(contains(environ, "HOME="));
  EXPECT_EQ(::getsid(h.childPid()), h.childPid());
  EXPECT_EQ(::getpgid(h.childPid()), h.childPid());
}

TEST(ShimProcess, ResizeIsVisibleToTheChild) {
  ShimHarness h({"/bin/sh", "-c", "stty size; read x; stty size; read y"});
  ASSERT_TRUE(h.startForeground());
  auto client = h.connect();
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE(client->attach(true).ok());
  Seen seen;
  readInto(
      *client, seen, [](const Seen& s) { return contains(s.replay + s.live, "40 120"); }, 10s);
  ASSERT_TRUE(contains(seen.replay + seen.live, "40 120")) << seen.replay << seen.live;
  ASSERT_TRUE(client->resize(100, 50).ok());
  ASSERT_TRUE(client->input("\n").ok());
  readInto(
      *client, seen, [](const Seen& s) { return contains(s.live, "50 100"); }, 10s);
  EXPECT_TRUE(contains(seen.live, "50 100")) << seen.live;
  auto other = h.connect();
  ASSERT_TRUE(other.ok());
  auto status = other->status(5s);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ((*status)["cols"], 100);
  EXPECT_EQ((*status)["rows"], 50);
}

TEST(ShimProcess, SignalTermEndsTheChild) {
  ShimHarness h({"sleep", "1000"});
  ASSERT_TRUE(h.startForeground());
  auto client = h.connect();
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE(client->attach(false).ok());
  ASSERT_TRUE(client->signal("TERM").ok());
  Seen seen;
  readInto(
      *client, seen, [](const Seen& s) { return s.exit.has_value(); }, 10s);
  ASSERT_TRUE(seen.exit.has_value());
  EXPECT_TRUE((*seen.exit)["code"].is_null());
  EXPECT_EQ((*seen.exit)["signal"], "TERM");
  EXPECT_EQ((*seen.exit)["oom_killed"], false);
  EXPECT_EQ(h.waitExit(10s), 0);
}

TEST(ShimProcess, SignalKillWhenTermIsIgnored) {
  ShimHarness h({"/bin/sh", "-c", "trap '' TERM; echo trapped; while :; do read x; done"});
  ASSERT_TRUE(h.startForeground());
  auto client = h.connect();
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE(client->attach(true).ok());
  Seen seen;
  readInto(
      *client, seen, [](const Seen& s) { return contains(s.replay + s.live, "trapped"); }, 10s);
  ASSERT_TRUE(client->signal("TERM").ok());
  auto status = client->status(5s);  // frames are handled in order: TERM was delivered
  ASSERT_TRUE(status.ok());
  EXPECT_EQ((*status)["running"], true) << "TERM is trapped";
  ASSERT_TRUE(client->signal("9").ok());
  readInto(
      *client, seen, [](const Seen& s) { return s.exit.has_value(); }, 10s);
  ASSERT_TRUE(seen.exit.has_value());
  EXPECT_EQ((*seen.exit)["signal"], "KILL");
}

TEST(ShimProcess, BadRequestsGetErrorsAndBadFramesCloseTheClient) {
  ShimHarness h({"sleep", "1000"});
  ASSERT_TRUE(h.startForeground());
  auto client = h.connect();
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE(client->send(FrameType::kSignal, R"({"signal":"NOPE"})").ok());
  ASSERT_TRUE(client->send(FrameType::kResize, "garbage").ok());
  auto status = client->status(5s);
  ASSERT_FALSE(status.ok()) << "the ERROR for SIGNAL comes first";
  EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);

  ASSERT_TRUE(client->send(FrameType::kOutput, "clients may not send OUTPUT").ok());
  Seen seen;
  readInto(
      *client, seen, [](const Seen&) { return false; }, 5s);
  EXPECT_TRUE(seen.closed);
  ASSERT_FALSE(seen.errors.empty());

  auto raw = h.connect();
  ASSERT_TRUE(raw.ok());
  std::string oversize = {0x02, 0x7f, 0x00, 0x00, 0x00};
  ASSERT_EQ(::send(raw->fd(), oversize.data(), oversize.size(), MSG_NOSIGNAL), 5);
  Seen seen2;
  readInto(
      *raw, seen2, [](const Seen&) { return false; }, 5s);
  EXPECT_TRUE(seen2.closed);
  ASSERT_EQ(seen2.errors.size(), 1u);
  EXPECT_TRUE(contains(seen2.errors[0].message, "exceeds"));

  auto again = h.connect();  // the shim is unharmed
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->status(5s).ok());
}

TEST(ShimProcess, DaemonSurvivesItsParentAndCleansUpOnSigterm) {
  ShimHarness h({"sleep", "1000"});
  h.spec()["stop_grace_s"] = 5;
  ASSERT_TRUE(h.startDaemon());
  pid_t shim = h.shimPid();
  ASSERT_GT(shim, 1);
  EXPECT_NE(shim, ::getpid());
  EXPECT_NE(::getsid(shim), ::getsid(0)) << "the daemon has its own session";
  std::string stat = readFile("/proc/" + std::to_string(shim) + "/stat");
  auto fields = stat.substr(stat.rfind(')') + 4);
  pid_t ppid = std::stoi(fields);
  EXPECT_NE(ppid, ::getpid()) << "re-parented away from its launcher";
  EXPECT_TRUE(fs::exists(h.dir() / "shim.log"));

  auto client = h.connect();
  ASSERT_TRUE(client.ok());
  auto status = client->status(5s);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ((*status)["shim_pid"], shim);
  EXPECT_EQ((*status)["child_pid"], h.childPid());

  ASSERT_EQ(::kill(shim, SIGTERM), 0);
  ASSERT_EQ(h.waitExit(15s), 0);
  EXPECT_TRUE(processGone(h.childPid()));
  auto record = h.exitRecord();
  EXPECT_EQ(record["signal"], "TERM");
  EXPECT_FALSE(fs::exists(h.path("socket")));
  EXPECT_FALSE(fs::exists(h.path("pid_file")));
  EXPECT_TRUE(contains(readFile(h.dir() / "shim.log"), "stop requested"));
}

TEST(ShimProcess, SecondShimForTheSameSocketRefuses) {
  ShimHarness h({"sleep", "1000"});
  ASSERT_TRUE(h.startForeground());
  std::string spec = h.writeSpec("spec2.json");
  std::string err;
  EXPECT_EQ(ShimHarness::runToExit({ZLH_SHIM_BIN, "--foreground", "--spec", spec}, &err), 3);
  EXPECT_TRUE(contains(err, "already served")) << err;
  err.clear();
  EXPECT_EQ(ShimHarness::runToExit({ZLH_SHIM_BIN, "--spec", spec}, &err), 3) << err;
  auto client = h.connect();
  ASSERT_TRUE(client.ok());
  auto status = client->status(5s);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ((*status)["running"], true) << "the first shim and its game are untouched";
}

TEST(ShimProcess, StaleSocketOfADeadShimIsReplaced) {
  ShimHarness h({"sleep", "1000"});
  {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    auto path = h.path("socket");
    memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ::close(fd);  // a socket file nobody listens on
  }
  ASSERT_TRUE(h.startForeground());
}

TEST(ShimProcess, StartFailureExitsOneWithTheReasonAndStartsNoChild) {
  ShimHarness h({"/bin/sh", "-c", "echo started > started.txt; sleep 1000"});
  std::ofstream(h.path("socket")) << "not a socket";
  std::string err;
  EXPECT_EQ(ShimHarness::runToExit({ZLH_SHIM_BIN, "--spec", h.writeSpec()}, &err), 1);
  EXPECT_TRUE(contains(err, "exists and is not a socket")) << err;
  EXPECT_EQ(readFile(h.path("socket")), "not a socket") << "the file is left alone";
  EXPECT_FALSE(fs::exists(h.dir() / "data" / "started.txt"));
  EXPECT_FALSE(fs::exists(h.path("pid_file")));
}

TEST(ShimProcess, BadSpecExitsTwoWithAClearMessage) {
  ShimHarness h({"sleep", "1000"});
  std::string err;
  EXPECT_EQ(ShimHarness::runToExit({ZLH_SHIM_BIN}, &err), 2);
  EXPECT_TRUE(contains(err, "--spec FILE is required")) << err;

  h.spec()["cols"] = "wide";
  err.clear();
  EXPECT_EQ(ShimHarness::runToExit({ZLH_SHIM_BIN, "--spec", h.writeSpec()}, &err), 2);
  EXPECT_TRUE(contains(err, "cols")) << err;

  h.spec()["cols"] = 80;
  h.spec()["cwd"] = (h.dir() / "missing").string();
  err.clear();
  EXPECT_EQ(ShimHarness::runToExit({ZLH_SHIM_BIN, "--spec", h.writeSpec()}, &err), 2);
  EXPECT_TRUE(contains(err, "cwd")) << err;
  EXPECT_FALSE(fs::exists(h.path("pid_file")));
}

TEST(ShimProcess, LimitsThatCannotApplyAreReportedWithAReason) {
  ShimHarness h({"sleep", "1000"});
  h.spec()["limits"] = {{"memory_max_bytes", 1 << 30}, {"pids_max", 100}};
  ASSERT_TRUE(h.startForeground());
  auto client = h.connect();
  ASSERT_TRUE(client.ok());
  auto status = client->status(5s);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ((*status)["limits"]["applied"], false);
  EXPECT_TRUE(contains((*status)["limits"]["reason"], "is not a cgroup2 mount"))
      << (*status)["limits"].dump();
  std::string log = readFile(h.dir() / "shim.log");
  EXPECT_TRUE(contains(log, "limits not applied")) << log;
}

// Private memory of an idle shim (goal: under 1 MB), read from smaps_rollup.
TEST(ShimProcess, IdleShimMemory) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "ASan's shadow memory makes the figure meaningless; the release run checks it";
#endif
  ShimHarness h({"sleep", "1000"});
  ASSERT_TRUE(h.startForeground());
  auto client = h.connect();
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE(client->status(5s).ok());
  std::ifstream in("/proc/" + std::to_string(h.shimPid()) + "/smaps_rollup");
  std::string key;
  uint64_t kb = 0, rss = 0, priv = 0;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    if (!(fields >> key >> kb)) continue;
    if (key == "Rss:") rss = kb;
    if (key == "Private_Clean:" || key == "Private_Dirty:") priv += kb;
  }
  RecordProperty("rss_kb", static_cast<int>(rss));
  RecordProperty("private_kb", static_cast<int>(priv));
  std::printf("[ memory ] idle zlh-shim: RSS %llu kB, private %llu kB\n",
              static_cast<unsigned long long>(rss), static_cast<unsigned long long>(priv));
  ASSERT_GT(rss, 0u);
  EXPECT_LT(priv, 1536u) << "private memory of an idle shim";
}

}  // namespace
}  // namespace zlh::agent::shim::testing
