#include "agent/core/link/link.h"

#include <gtest/gtest.h>

#include "agent/core/link/events.h"

namespace zlh::agent::core {
namespace {
using namespace std::chrono_literals;
using nlohmann::json;

// Records what the link asks of the network.
class FakeTransport : public Transport {
 public:
  uint64_t dial() override {
    dials.push_back(++next);
    return next;
  }
  void send(uint64_t link, std::string text) override { sent.push_back({link, json::parse(text)}); }
  void sendBinary(uint64_t link, std::string bytes) override {
    binary.push_back({link, std::move(bytes)});
  }
  void close(uint64_t link, int code, std::string) override { closed.push_back({link, code}); }
  void respond(uint64_t, HttpResponse) override {}
  uint16_t httpPort() const override { return 0; }
  void shutdown() override {}

  std::vector<json> sentOfType(const std::string& type) const {
    std::vector<json> out;
    for (const auto& [l, j] : sent)
      if (j["type"] == type) out.push_back(j);
    return out;
  }

  uint64_t next = 0;
  std::vector<uint64_t> dials;
  std::vector<std::pair<uint64_t, json>> sent;
  std::vector<std::pair<uint64_t, std::string>> binary;
  std::vector<std::pair<uint64_t, int>> closed;
};

std::string envelope(const std::string& type, const json& body) {
  return json{{"v", 1}, {"type", type}, {"id", "m1"}, {"ts", 1}, {"body", body}}.dump();
}
std::string welcome() {
  return envelope("welcome", {{"node_id", "nd_1"}, {"coordinator_version", "c"}, {"protocol", 1}});
}

class LinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Link::Options o;
    o.backoff_initial = 10ms;
    o.backoff_max = 40ms;
    o.welcome_timeout = 50ms;
    o.dial_timeout = 200ms;
    o.max_queued_events = 3;
    link_ = std::make_unique<Link>(
        loop_, metrics_, o,
        [] {
          proto::Hello h;
          h.node_id = "nd_1";
          return h;
        },
        [this](const proto::JobStart& js) { jobs_.push_back(js.job_id); });
    link_->setTransport(&net_);
    link_->start();
  }
  void openAndWelcome() {
    link_->onLinkOpen(net_.next);
    link_->onLinkText(net_.next, welcome());
  }

  EventLoop loop_{1};
  AgentMetrics metrics_{"t"};
  FakeTransport net_;
  std::unique_ptr<Link> link_;
  std::vector<std::string> jobs_;
};

TEST_F(LinkTest, SendsHelloOnOpenAndIsConnectedAfterWelcome) {
  ASSERT_EQ(net_.dials.size(), 1u);
  EXPECT_EQ(link_->stateName(), "connecting");
  link_->onLinkOpen(1);
  auto hellos = net_.sentOfType("hello");
  ASSERT_EQ(hellos.size(), 1u);
  EXPECT_EQ(hellos[0]["body"]["node_id"], "nd_1");
  link_->onLinkText(1, welcome());
  EXPECT_EQ(link_->stateName(), "connected");
  EXPECT_EQ(metrics_.dials(DialResult::kOk), 1u);
  link_->onLinkText(1, envelope("job.start", {{"job_id", "j1"}, {"kind", "system.info"}}));
  EXPECT_EQ(jobs_, std::vector<std::string>{"j1"});
}

TEST_F(LinkTest, NoWelcomeInTimeDropsAndRedials) {
  link_->onLinkOpen(1);
  ASSERT_TRUE(loop_.runUntil([&] { return net_.dials.size() == 2; }, 2000ms));
  ASSERT_EQ(net_.closed.size(), 1u);
  EXPECT_EQ(net_.closed[0], (std::pair<uint64_t, int>{1, 4400}));
  EXPECT_EQ(metrics_.dials(DialResult::kError), 1u);
}

TEST_F(LinkTest, RefusedDialBacksOffAndCountsRefused) {
  link_->onLinkClosed(1, LinkClosed{false, 401, 0, "HS: ws upgrade response not 101"});
  EXPECT_EQ(link_->stateName(), "backoff");
  EXPECT_EQ(metrics_.dials(DialResult::kRefused), 1u);
  ASSERT_TRUE(loop_.runUntil([&] { return net_.dials.size() == 2; }, 2000ms));
  link_->onLinkOpen(2);
  link_->onLinkClosed(2, LinkClosed{true, 0, 4003, "node mismatch"});
  EXPECT_EQ(metrics_.dials(DialResult::kRefused), 2u);
}

TEST_F(LinkTest, QueuesResultsAndEventsUntilWelcome) {
  proto::JobDone done;
  done.job_id = "j9";
  done.result = json::object();
  link_->sendJobDone(done);
  for (int i = 0; i < 5; ++i) {
    auto ev = encodeEvent("instance.ready",
                          {{"instance_id", "i" + std::to_string(i)}, {"state_version", i}});
    ASSERT_TRUE(ev.ok());
    link_->sendEvent(ev.value());
  }
  EXPECT_EQ(metrics_.eventsDropped(), 2u);                      // bounded at 3, oldest dropped
  link_->sendProgress(proto::JobProgress{"j9", 50.0, "half"});  // not queued
  EXPECT_TRUE(net_.sent.empty());
  openAndWelcome();
  ASSERT_EQ(net_.sentOfType("job.done").size(), 1u);
  auto ready = net_.sentOfType("instance.ready");
  ASSERT_EQ(ready.size(), 3u);
  EXPECT_EQ(ready[0]["body"]["instance_id"], "i2");
  EXPECT_TRUE(net_.sentOfType("job.progress").empty());
}

TEST_F(LinkTest, TooManyBadMessagesDropTheLink) {
  openAndWelcome();
  for (int i = 0; i < 10; ++i) link_->onLinkText(1, "garbage");
  EXPECT_EQ(net_.sentOfType("error").size(), 10u);
  EXPECT_TRUE(net_.closed.empty());
  link_->onLinkText(1, envelope("hello", {}));  // 11th: wrong shape / direction
  ASSERT_EQ(net_.closed.size(), 1u);
  EXPECT_EQ(net_.closed[0].second, 4400);
  EXPECT_EQ(link_->stateName(), "backoff");
}

TEST_F(LinkTest, JobStartBeforeWelcomeIsABadMessage) {
  link_->onLinkOpen(1);
  link_->onLinkText(1, envelope("job.start", {{"job_id", "j1"}, {"kind", "k"}}));
  EXPECT_TRUE(jobs_.empty());
  auto errors = net_.sentOfType("error");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0]["body"]["ref"], "m1");
}

TEST_F(LinkTest, StaleLinksAreIgnored) {
  link_->onLinkClosed(1, LinkClosed{false, 0, 0, "refused"});
  ASSERT_TRUE(loop_.runUntil([&] { return net_.dials.size() == 2; }, 2000ms));
  link_->onLinkOpen(1);  // the old attempt: closed, not used
  EXPECT_EQ(net_.closed.back().first, 1u);
  EXPECT_TRUE(net_.sentOfType("hello").empty());
}

TEST_F(LinkTest, LostLinksAreCountedButNotAStop) {
  openAndWelcome();
  link_->onLinkClosed(1, LinkClosed{true, 0, 1006, "gone"});
  EXPECT_EQ(metrics_.linksLost(), 1u);
  EXPECT_EQ(metrics_.dials(DialResult::kError), 0u);  // it was a link, not a failed dial
}

TEST_F(LinkTest, StopClosesWithGoingAwayAndCallsDone) {
  openAndWelcome();
  bool done = false;
  link_->stop(1000ms, [&] { done = true; });
  ASSERT_EQ(net_.closed.size(), 1u);
  EXPECT_EQ(net_.closed[0].second, 1001);
  EXPECT_FALSE(done);
  link_->onLinkClosed(1, LinkClosed{true, 0, 0, "closed"});
  EXPECT_TRUE(done);
  EXPECT_EQ(metrics_.linksLost(), 0u);
}

TEST(Events, OnlyKnownEventTypesWithTheirShape) {
  EXPECT_TRUE(encodeEvent("instance.state",
                          {{"instance_id", "i"}, {"state", "running"}, {"state_version", 2}})
                  .ok());
  EXPECT_FALSE(encodeEvent("instance.state", {{"instance_id", "i"}}).ok());
  EXPECT_FALSE(encodeEvent("job.done", {{"job_id", "j"}, {"result", json::object()}}).ok());
  EXPECT_FALSE(encodeEvent("made.up", json::object()).ok());
}

}  // namespace
}  // namespace zlh::agent::core
