// The console plugin against the SDK fakes: scrollback then live output, input and resize ops,
// refusals, a viewer that cannot keep up (bounded, with a notice), the process's last output
// before the stream closes, and the agent stopping.
#include "plugins/console/console_plugin.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <thread>

#include "agent/sdk/testing/fake_plugin_context.h"

namespace zlh::plugins::console {
namespace {
namespace sdk = agent::sdk;
using nlohmann::json;

/// A stream channel whose peer never grants more than `capacity` queued bytes (0 = unbounded).
/// With `queue`, it is the real channel's queue instead: bytes written and not yet `sent`, at most
/// sdk::kStreamQueueBytes.
struct FakeChannel : sdk::StreamChannel {
  explicit FakeChannel(size_t capacity = 0) : capacity(capacity) {}
  bool write(std::string_view b) override {
    if (closed || (capacity && got.size() + b.size() > capacity) || b.size() > room()) {
      ++refused;
      return false;
    }
    got.append(b);
    return true;
  }
  size_t queued() const override { return queue ? got.size() - sent : 0; }
  void close(std::optional<sdk::Error> e) override {
    closed = true;
    error = std::move(e);
  }
  bool ended() const override { return closed; }
  size_t capacity;
  bool queue = false;
  size_t sent = 0;
  std::string got;
  int refused = 0;  // writes that did not fit
  bool closed = false;
  std::optional<sdk::Error> error;
};

class ConsoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ctx_.fakeInstances().create("mc-1", "mc-test", json::object()).ok());
    ctx_.fakeSupervisor().adopt("mc-1");
  }
  /// Opens a console; the handler is kept (as the stream router would) until the test ends.
  sdk::Result<sdk::StreamHandler*> open(std::shared_ptr<FakeChannel> ch,
                                        json params = json::object(), std::string id = "mc-1") {
    auto h = plugin_.openStream(
        sdk::StreamRequest{1, "console", std::move(id), std::move(params)}, std::move(ch));
    if (!h.ok()) return h.error();
    handlers_.push_back(std::move(*h));
    return handlers_.back().get();
  }
  static std::string op(uint8_t o, std::string rest) { return std::string(1, char(o)) + rest; }

  sdk::testing::FakePluginContext ctx_{"console"};
  ConsolePlugin plugin_{ctx_, "/bin/sh"};
  std::vector<std::unique_ptr<sdk::StreamHandler>> handlers_;
};

TEST_F(ConsoleTest, ReplaysScrollbackThenStreamsLiveOutput) {
  ctx_.fakeSupervisor().pushOutput("mc-1", "[Server thread/INFO]: Done (1.0s)!\r\n");
  auto ch = std::make_shared<FakeChannel>();
  auto h = open(ch);
  ASSERT_TRUE(h.ok()) << h.error().message;
  ctx_.runPending();  // the replay is posted, like the real supervisor's
  ctx_.fakeSupervisor().pushOutput("mc-1", "tick 1\r\n");
  EXPECT_EQ(ch->got, "[Server thread/INFO]: Done (1.0s)!\r\ntick 1\r\n");

  auto live_only = std::make_shared<FakeChannel>();
  ASSERT_TRUE(open(live_only, {{"replay", false}}).ok());
  ctx_.runPending();
  ctx_.fakeSupervisor().pushOutput("mc-1", "tick 2\r\n");
  EXPECT_EQ(live_only->got, "tick 2\r\n");
  EXPECT_EQ(ch->got.substr(ch->got.size() - 8), "tick 2\r\n");  // both viewers see it
}

TEST_F(ConsoleTest, InputAndResizeReachTheProcessBadOpsCloseTheStream) {
  auto ch = std::make_shared<FakeChannel>();
  auto h = open(ch);
  ASSERT_TRUE(h.ok());
  (*h)->onData(op(kOpInput, "say hi\n"));
  (*h)->onData(op(kOpResize, std::string("\x00\x78\x00\x28", 4)));  // 120 x 40
  ASSERT_EQ(ctx_.fakeSupervisor().inputs().size(), 1u);
  EXPECT_EQ(ctx_.fakeSupervisor().inputs()[0].bytes, "say hi\n");
  ASSERT_EQ(ctx_.fakeSupervisor().resizes().size(), 1u);
  EXPECT_EQ(ctx_.fakeSupervisor().resizes()[0].value, "120x40");
  EXPECT_FALSE(ch->closed);
  (*h)->onData(op(kOpResize, std::string("\x00\x00\x00\x28", 4)));
  ASSERT_TRUE(ch->closed);
  EXPECT_EQ(ch->error->code, sdk::ErrorCode::kInvalidArgument);

  auto other = std::make_shared<FakeChannel>();
  auto h2 = open(other);
  (*h2)->onData(op(7, "x"));
  ASSERT_TRUE(other->closed);
  EXPECT_NE(other->error->message.find("unknown op 7"), std::string::npos);
}

TEST_F(ConsoleTest, RefusesUnknownStoppedAndBadParams) {
  EXPECT_EQ(open(std::make_shared<FakeChannel>(), {}, "nope").error().code,
            sdk::ErrorCode::kNotFound);
  EXPECT_EQ(open(std::make_shared<FakeChannel>(), {}, "").error().code,
            sdk::ErrorCode::kInvalidArgument);
  EXPECT_EQ(open(std::make_shared<FakeChannel>(), {{"replay", "yes"}}).error().code,
            sdk::ErrorCode::kInvalidArgument);
  ASSERT_TRUE(ctx_.fakeInstances().create("mc-2", "mc-test", json::object()).ok());
  EXPECT_EQ(open(std::make_shared<FakeChannel>(), {}, "mc-2").error().code,
            sdk::ErrorCode::kFailedPrecondition);
}

TEST_F(ConsoleTest, ASlowViewerSkipsOutputWithANoticeAndTheFastOneGetsEverything) {
  auto slow = std::make_shared<FakeChannel>(200);
  auto fast = std::make_shared<FakeChannel>();
  ASSERT_TRUE(open(slow).ok());
  ASSERT_TRUE(open(fast).ok());
  ctx_.runPending();
  std::string all;
  for (int i = 0; i < 3000; ++i) {  // ~30 KB: more than the 16 KiB a lagging viewer is kept
    std::string line = "line " + std::to_string(i) + "\r\n";
    all += line;
    ctx_.fakeSupervisor().pushOutput("mc-1", line);
  }
  EXPECT_EQ(fast->got, all);
  EXPECT_LE(slow->got.size(), 200u);
  slow->capacity = 0;  // it catches up: told what it lost, then the latest 16 KiB, then new output
  ctx_.fakeSupervisor().pushOutput("mc-1", "after\r\n");
  auto notice = slow->got.find("bytes of output skipped: this console could not keep up]");
  ASSERT_NE(notice, std::string::npos) << slow->got.substr(0, 300);
  EXPECT_NE(slow->got.find("line 2999\r\nafter\r\n", notice), std::string::npos);
  EXPECT_LE(slow->got.size(), 200u + 100u + 16 * 1024 + 7);
  sdk::MetricsWriter m;
  plugin_.collectMetrics(m);
  EXPECT_NE(m.text().find("zlh_console_viewers 2"), std::string::npos) << m.text();
}

TEST_F(ConsoleTest, ABigChunkFillsTheRoomLeftAndOnlyTheRestWaits) {
  auto ch = std::make_shared<FakeChannel>();
  ch->queue = true;
  auto h = open(ch);
  ASSERT_TRUE(h.ok());
  ctx_.runPending();
  const std::string first(sdk::kStreamQueueBytes - 8 * 1024, 'a'), chunk(64 * 1024, 'b');
  ctx_.fakeSupervisor().pushOutput("mc-1", first);
  ctx_.fakeSupervisor().pushOutput("mc-1", chunk);  // 8 KiB of room: 8 KiB go, 56 KiB wait
  EXPECT_EQ(ch->got, first + chunk.substr(0, 8 * 1024));
  ch->sent = ch->got.size();  // credit arrived: the queue is empty
  (*h)->onWritable();
  ctx_.fakeSupervisor().pushOutput("mc-1", "c");
  // The 56 KiB that waited are more than the 16 KiB a lagging viewer is kept: 40 KiB are skipped
  // and said so (refusing the whole chunk skipped 48 KiB and delivered none of it).
  const std::string notice = "\r\n[zlh: 40960 bytes of output skipped: this console could not keep up]\r\n";
  EXPECT_EQ(ch->got, first + chunk.substr(0, 8 * 1024) + notice + std::string(16 * 1024, 'b') + "c");
}

TEST_F(ConsoleTest, TheLastOutputArrivesThenTheStreamClosesOnExit) {
  auto ch = std::make_shared<FakeChannel>();
  ASSERT_TRUE(open(ch).ok());
  ctx_.runPending();
  ctx_.fakeSupervisor().pushOutput("mc-1", "Saving worlds\r\n");
  ctx_.fakeSupervisor().exit("mc-1", sdk::testing::FakeSupervisor::exitCode(0));
  EXPECT_EQ(ch->got, "Saving worlds\r\n\r\n[zlh: the process exited]\r\n");
  EXPECT_TRUE(ch->closed);
  EXPECT_FALSE(ch->error);
}

TEST_F(ConsoleTest, AViewerBehindAtTheEndStillGetsTheLatestOutputThenTheClose) {
  auto ch = std::make_shared<FakeChannel>(100);
  auto h = open(ch);
  ASSERT_TRUE(h.ok());
  ctx_.runPending();
  ctx_.fakeSupervisor().pushOutput("mc-1", std::string(300, 'a'));  // does not fit: kept
  ctx_.fakeSupervisor().pushOutput("mc-1", "Saving worlds\r\n");
  ctx_.fakeSupervisor().exit("mc-1", sdk::testing::FakeSupervisor::exitCode(0));
  EXPECT_FALSE(ch->closed);  // not before the viewer has the end
  ch->capacity = 0;
  (*h)->onWritable();  // credit arrived: the stream's queue is empty
  EXPECT_TRUE(ch->closed);
  const std::string end = "Saving worlds\r\n\r\n[zlh: the process exited]\r\n";
  ASSERT_GE(ch->got.size(), end.size());
  EXPECT_EQ(ch->got.substr(ch->got.size() - end.size()), end);

  // Output lost upstream (the supervisor's queue) is announced before the next output.
  auto other = std::make_shared<FakeChannel>();
  ASSERT_TRUE(open(other, {}, "mc-1").ok() == false);  // the process has exited meanwhile
}

TEST_F(ConsoleTest, OutputLostUpstreamIsAnnouncedBeforeTheNextOutput) {
  auto ch = std::make_shared<FakeChannel>();
  ASSERT_TRUE(open(ch).ok());
  ctx_.runPending();
  ctx_.fakeSupervisor().pushDropped("mc-1", 5000);
  ctx_.fakeSupervisor().pushOutput("mc-1", "next\r\n");
  EXPECT_EQ(ch->got, "\r\n[zlh: 5000 bytes of output skipped: this console could not keep up]\r\nnext\r\n");
}

TEST_F(ConsoleTest, StoppingTheAgentClosesEveryConsoleWithAReason) {
  auto ch = std::make_shared<FakeChannel>();
  auto h = open(ch);
  ASSERT_TRUE(h.ok());
  plugin_.stop();
  ASSERT_TRUE(ch->closed);
  EXPECT_EQ(ch->error->code, sdk::ErrorCode::kUnavailable);
  handlers_.clear();  // the handler goes away: no callback after that
  ctx_.fakeSupervisor().pushOutput("mc-1", "late\r\n");
  EXPECT_EQ(ch->got, "");
}

// Shells (templates with [console] shell = true): a real /bin/sh on a real PTY, in the data dir,
// with the instance's env, a clean rest; backpressure instead of skipping; exit closes the stream.
class ShellTest : public ConsoleTest {
 protected:
  void SetUp() override {
    ConsoleTest::SetUp();
    ASSERT_TRUE(ctx_.fakeInstances()
                    .create("ide-1", "process",
                            json{{"console_shell", true}, {"port", 25999}, {"env", {{"GREETING", "hi"}}}})
                    .ok());
  }
  /// Runs posted work until `done` holds (the PTY thread posts from its own thread).
  template <class F>
  bool pumpUntil(F done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      if (ctx_.runPending() == 0) std::this_thread::yield();
    }
    return true;
  }
};

TEST_F(ShellTest, RunsInTheDataDirWithTheInstanceEnvAndEndsWithTheStream) {
  ::setenv("ZLH_SECRET", "leaked", 1);  // the agent's environment stays out of the shell
  auto ch = std::make_shared<FakeChannel>();
  auto h = open(ch, {{"shell", true}}, "ide-1");
  ASSERT_TRUE(h.ok()) << h.error().message;
  (*h)->onData(op(kOpResize, std::string("\x00\x64\x00\x1e", 4)));  // 100 x 30
  (*h)->onData(op(kOpInput, "echo \"at:$(pwd) port:$PORT $GREETING term:$TERM size:$(stty size) secret:${ZLH_SECRET:-none}\"\n"));
  const auto dir = ctx_.fakeInstances().get("ide-1")->data_dir.string();
  const std::string want = "at:" + dir + " port:25999 hi term:xterm-256color size:30 100 secret:none";
  ASSERT_TRUE(pumpUntil([&] { return ch->got.find(want) != std::string::npos; })) << ch->got;
  (*h)->onData(op(kOpInput, "exit 3\n"));
  ASSERT_TRUE(pumpUntil([&] { return ch->closed; })) << ch->got;
  EXPECT_NE(ch->got.find("[zlh: the shell exited]"), std::string::npos);
  EXPECT_FALSE(ch->error);
}

TEST_F(ShellTest, ASlowViewerHoldsTheShellBackNothingIsSkipped) {
  auto ch = std::make_shared<FakeChannel>(64 * 1024);  // takes 64 KiB, then nothing until credit
  auto h = open(ch, {{"shell", true}}, "ide-1");
  ASSERT_TRUE(h.ok());
  (*h)->onData(op(kOpInput, "stty -echo; i=0; while [ $i -lt 20000 ]; do echo line-$i; i=$((i+1)); done; echo E\"\"ND\n"));
  // The viewer's window fills: output is held back (how full it got depends on the PTY's read
  // sizes, which grow when the machine is busy), not dropped.
  ASSERT_TRUE(pumpUntil([&] { return ch->refused > 0; }));
  EXPECT_FALSE(ch->closed);
  // Credit in slices, as a viewer reading slowly: every line arrives, in order, none skipped.
  std::string all;
  ASSERT_TRUE(pumpUntil([&] {
    all += ch->got;
    ch->got.clear();
    (*h)->onWritable();
    return all.find("END") != std::string::npos;
  }));
  EXPECT_EQ(all.find("skipped"), std::string::npos);
  for (int i : {0, 9999, 19999}) EXPECT_NE(all.find("line-" + std::to_string(i) + "\r\n"), std::string::npos) << i;
}

TEST_F(ShellTest, RefusedWhereTheTemplateOffersNoneOrShellsAreOff) {
  auto ch = std::make_shared<FakeChannel>();
  auto no = open(ch, {{"shell", true}}, "mc-1");  // mc-test: no [console] shell
  ASSERT_FALSE(no.ok());
  EXPECT_EQ(no.error().code, sdk::ErrorCode::kFailedPrecondition);
  ConsolePlugin off(ctx_, "");
  auto r = off.openStream(sdk::StreamRequest{2, "console", "ide-1", {{"shell", true}}}, ch);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("disabled"), std::string::npos);
  auto bad = open(ch, {{"shell", "yes"}}, "ide-1");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, sdk::ErrorCode::kInvalidArgument);
}

TEST_F(ShellTest, ClosingTheStreamHangsTheShellUp) {
  auto ch = std::make_shared<FakeChannel>();
  auto h = open(ch, {{"shell", true}}, "ide-1");
  ASSERT_TRUE(h.ok());
  (*h)->onData(op(kOpInput, "echo P\"\"ID=$$.\n"));  // the typed line's echo is not the answer
  ASSERT_TRUE(pumpUntil([&] {
    auto at = ch->got.find("PID=");
    return at != std::string::npos && ch->got.find('.', at) != std::string::npos;
  })) << ch->got;
  const auto at = ch->got.find("PID=") + 4;
  const pid_t pid = std::stoi(ch->got.substr(at));
  (*h)->onClosed();
  handlers_.clear();
  // The reaper thread hangs up and reaps it: the pid disappears.
  ASSERT_TRUE(pumpUntil([&] { return ::kill(pid, 0) != 0; })) << pid;
}

}  // namespace
}  // namespace zlh::plugins::console
