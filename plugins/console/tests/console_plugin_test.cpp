// The console plugin against the SDK fakes: scrollback then live output, input and resize ops,
// refusals, a viewer that cannot keep up (bounded, with a notice), the process's last output
// before the stream closes, and the agent stopping.
#include "plugins/console/console_plugin.h"

#include <gtest/gtest.h>

#include "agent/sdk/testing/fake_plugin_context.h"

namespace zlh::plugins::console {
namespace {
namespace sdk = agent::sdk;
using nlohmann::json;

/// A stream channel whose peer never grants more than `capacity` queued bytes (0 = unbounded).
struct FakeChannel : sdk::StreamChannel {
  explicit FakeChannel(size_t capacity = 0) : capacity(capacity) {}
  bool write(std::string_view b) override {
    if (closed || (capacity && got.size() + b.size() > capacity)) return false;
    got.append(b);
    return true;
  }
  size_t queued() const override { return 0; }
  void close(std::optional<sdk::Error> e) override {
    closed = true;
    error = std::move(e);
  }
  bool ended() const override { return closed; }
  size_t capacity;
  std::string got;
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
  ConsolePlugin plugin_{ctx_};
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

}  // namespace
}  // namespace zlh::plugins::console
