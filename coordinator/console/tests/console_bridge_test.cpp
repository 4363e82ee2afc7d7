// The console bridge with the real gateway over recording transports: refusals by close code,
// the splice of console and stream (the relay itself is the network module's: server_test),
// the agent's input credit passed on, pings, agent close codes, link loss, idle timeout,
// shutdown.
#include "coordinator/console/console_bridge.h"

#include <gtest/gtest.h>

#include "coordinator/gateway/gateway.h"
#include "coordinator/gateway/tests/fakes.h"
#include "coordinator/instances/tests/test_db.h"
#include "proto/v1/codec.h"
#include "proto/v1/stream_frame.h"

namespace zlh::coordinator::console {
namespace {
using nlohmann::json;
using namespace std::chrono_literals;

struct Browser final : ConsoleTransport {
  void sendBinary(uint64_t conn, std::string bytes) override { out[conn] += bytes; }
  void sendText(uint64_t conn, std::string text) override { texts[conn].push_back(std::move(text)); }
  void close(uint64_t conn, uint16_t code, std::string reason) override {
    closed[conn] = {code, std::move(reason)};
  }
  void splice(uint64_t conn, const gateway::StreamHandle& stream, uint64_t window) override {
    splices[conn] = {stream.link, stream.stream_id, window, link_messages ? link_messages() : 0};
  }
  void spliceCredit(uint64_t conn, uint64_t bytes) override { credits[conn] += bytes; }
  struct Spliced {
    uint64_t link;
    uint32_t stream;
    uint64_t window;
    size_t link_messages_before;  // messages the link had been sent when the splice came
  };
  std::function<size_t()> link_messages;
  std::map<uint64_t, Spliced> splices;
  std::map<uint64_t, uint64_t> credits;
  std::map<uint64_t, std::string> out;
  std::map<uint64_t, std::vector<std::string>> texts;
  std::map<uint64_t, std::pair<uint16_t, std::string>> closed;
};

class ConsoleBridgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    browser_.link_messages = [this] { return transport_.sent[kLink].size(); };
    node_ = db_.addNode("n1");
    auto c = db_.createInstance(node_);
    id_ = c.instance->id;
    setState("ready", 3);
    gw_.onLinkOpen(kLink, "10.0.0.1:5000", node_);
    proto::Hello h;
    h.node_id = node_;
    h.agent_version = "1";
    gw_.onLinkMessage(kLink, proto::encode(h), false);
  }
  void setState(const std::string& s, uint64_t v) {
    ASSERT_TRUE(*db_.store->observeInstance({id_, node_, v, s, std::nullopt, false, {}, {}}));
  }
  Ticket ticket() { return Ticket{db_.user, id_, {}}; }
  std::vector<json> agentGot(const std::string& type) {
    std::vector<json> out;
    for (const auto& s : transport_.sent[kLink]) {
      json j = json::parse(s);
      if (j["type"] == type) out.push_back(j["body"]);
    }
    return out;
  }
  void agentSends(const json& body, const std::string& type) {
    json env = {{"v", 1}, {"type", type}, {"id", "a1"}, {"ts", 1}, {"body", body}};
    gw_.onLinkMessage(kLink, env.dump(), false);
  }
  void agentOutput(uint32_t stream, const std::string& bytes) {
    gw_.onLinkMessage(kLink, proto::encodeStreamFrame(stream, bytes), true);
  }

  static constexpr uint64_t kLink = 1, kConn = 100;
  instances::testing::TestDb db_;
  common::Metrics metrics_{"test"};
  gateway::testing::ManualExecutor exec_;
  gateway::testing::RecordingTransport transport_;
  gateway::Gateway gw_{*db_.store, metrics_, exec_, transport_, gateway::GatewayOptions{}};
  Browser browser_;
  ConsoleOptions options_{std::chrono::seconds(60), 1000, 100};
  ConsoleBridge bridge_{*db_.store, gw_, exec_, browser_, options_};
  std::string node_, id_;
};

TEST_F(ConsoleBridgeTest, SplicesTheStreamAndPassesTheAgentsCreditOn) {
  bridge_.onOpen(kConn, ticket());
  auto opens = agentGot("stream.open");
  ASSERT_EQ(opens.size(), 1u);
  EXPECT_EQ(opens[0]["kind"], "console");
  EXPECT_EQ(opens[0]["instance_id"], id_);
  EXPECT_EQ(opens[0]["initial_credit"], 1000);
  const uint32_t sid = opens[0]["stream_id"];
  EXPECT_EQ(sid % 2, 1u);  // the coordinator's ids are odd
  // The network relays the bytes from now on, with the stream's initial credit as its window.
  ASSERT_TRUE(browser_.splices.count(kConn));
  EXPECT_EQ(browser_.splices[kConn].link, kLink);
  EXPECT_EQ(browser_.splices[kConn].stream, sid);
  EXPECT_EQ(browser_.splices[kConn].window, 1000u);
  // Joined before the open is sent: the agent's first output cannot arrive ahead of the splice.
  EXPECT_EQ(browser_.splices[kConn].link_messages_before, transport_.sent[kLink].size() - 1);

  // The agent's input credit (its first also accepts the stream) goes to the splice.
  agentSends({{"stream_id", sid}, {"bytes", 65536}}, "stream.credit");
  EXPECT_EQ(browser_.credits[kConn], 65536u);
  // Output that still reaches the bridge (the splice ended) goes nowhere.
  agentOutput(sid, "hello\r\n");
  EXPECT_TRUE(browser_.out[kConn].empty());
  // A keepalive ping is answered here and goes nowhere else.
  bridge_.onMessage(kConn, std::string("\x02", 1), true);
  ASSERT_EQ(browser_.texts[kConn].size(), 1u);
  EXPECT_EQ(browser_.texts[kConn][0], R"({"type":"pong"})");
  EXPECT_TRUE(transport_.binary[kLink].empty());
  // An oversized message is refused with the protocol code.
  bridge_.onMessage(kConn, std::string(proto::kMaxStreamPayloadBytes + 1, '\0'), true);
  EXPECT_EQ(browser_.closed[kConn].first, kConsoleProtocol);
}

TEST_F(ConsoleBridgeTest, RefusalsCloseWithTheDocumentedCodes) {
  setState("stopped", 4);
  bridge_.onOpen(kConn, ticket());
  EXPECT_EQ(browser_.closed[kConn].first, kConsoleNotRunning);
  setState("ready", 5);
  bridge_.onOpen(kConn + 1, Ticket{"usr_other", id_, {}});
  EXPECT_EQ(browser_.closed[kConn + 1].first, kConsoleForbidden);
  bridge_.onOpen(kConn + 2, Ticket{db_.user, "in_gone", {}});
  EXPECT_EQ(browser_.closed[kConn + 2].first, kConsoleInstanceGone);
  gw_.onLinkClosed(kLink);
  bridge_.onOpen(kConn + 3, ticket());
  EXPECT_EQ(browser_.closed[kConn + 3].first, kConsoleAgentOffline);
  EXPECT_EQ(bridge_.sessions(), 0u);
}

TEST_F(ConsoleBridgeTest, AgentClosesAndLinkLossMapToCloseCodes) {
  bridge_.onOpen(kConn, ticket());
  bridge_.onOpen(kConn + 1, ticket());
  bridge_.onOpen(kConn + 2, ticket());
  auto opens = agentGot("stream.open");
  ASSERT_EQ(opens.size(), 3u);
  agentSends({{"stream_id", opens[0]["stream_id"]}}, "stream.close");  // the process exited
  EXPECT_EQ(browser_.closed[kConn].first, kConsoleNormal);
  agentSends({{"stream_id", opens[1]["stream_id"]},
              {"error", {{"code", "failed_precondition"}, {"message", "no running process"}}}},
             "stream.close");
  EXPECT_EQ(browser_.closed[kConn + 1].first, kConsoleNotRunning);
  EXPECT_EQ(browser_.closed[kConn + 1].second, "no running process");
  gw_.onLinkClosed(kLink);
  EXPECT_EQ(browser_.closed[kConn + 2].first, kConsoleAgentOffline);
  for (uint64_t c : {kConn, kConn + 1, kConn + 2}) bridge_.onClosed(c);
  EXPECT_EQ(bridge_.sessions(), 0u);
  EXPECT_EQ(gw_.streamCount(), 0u);
}

TEST_F(ConsoleBridgeTest, BrowserCloseClosesTheStreamTextFramesAndIdleAreRefused) {
  bridge_.onOpen(kConn, ticket());
  bridge_.onClosed(kConn);
  ASSERT_EQ(agentGot("stream.close").size(), 1u);
  EXPECT_EQ(gw_.streamCount(), 0u);

  bridge_.onOpen(kConn + 1, ticket());
  bridge_.onMessage(kConn + 1, "{\"type\":\"input\"}", false);
  EXPECT_EQ(browser_.closed[kConn + 1].first, kConsoleProtocol);

  bridge_.onOpen(kConn + 2, ticket());
  exec_.advance(30s);
  bridge_.onInput(kConn + 2);  // input the splice relayed resets the clock
  exec_.advance(45s);
  EXPECT_FALSE(browser_.closed.count(kConn + 2));
  exec_.advance(16s);
  EXPECT_EQ(browser_.closed[kConn + 2].first, kConsoleIdle);
  EXPECT_EQ(browser_.closed[kConn + 2].second, "idle for 60 s");

  bridge_.onOpen(kConn + 3, ticket());
  bridge_.shutdown();
  EXPECT_EQ(browser_.closed[kConn + 3].first, kConsoleGoingAway);
}

}  // namespace
}  // namespace zlh::coordinator::console
