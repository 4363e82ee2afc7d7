#include "coordinator/store/tests/temp_store.h"
#include "coordinator/gateway/gateway.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "coordinator/common/tokens.h"
#include "coordinator/gateway/tests/fakes.h"

namespace zlh::coordinator::gateway {
namespace {
using namespace std::chrono_literals;
using nlohmann::json;
using testing::ManualExecutor;
using testing::RecordingTransport;

class GatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto n = store_->createNodeWithToken("n1", common::sha256Hex("t1"));
    ASSERT_TRUE(n.ok());
    node_ = n->first.id;
    gw_ = std::make_unique<Gateway>(*store_, metrics_, exec_, transport_, GatewayOptions{});
  }
  void TearDown() override {
    gw_.reset();
  }
  std::string hello(const std::string& node_id) {
    proto::Hello h;
    h.node_id = node_id;
    h.agent_version = "9.9";
    h.capacity = {2, 1024, 2048};
    h.metrics_url = "http://127.0.0.1:7421/metrics";
    h.plugins = {{"system", "running", {"system.echo"}}};
    return proto::encode(h);
  }
  json lastSent(LinkId link) {
    auto& v = transport_.sent[link];
    return v.empty() ? json() : json::parse(v.back());
  }
  void connect(LinkId link) {
    gw_->onLinkOpen(link, "10.0.0." + std::to_string(link) + ":5000", node_);
    gw_->onLinkMessage(link, hello(node_), false);
  }

  store::testing::TempStore tmp_{"zlh-gw-test"};
  std::unique_ptr<store::Store>& store_ = tmp_.store;
  std::string node_;
  common::Metrics metrics_{"test"};
  ManualExecutor exec_;
  RecordingTransport transport_;
  std::unique_ptr<Gateway> gw_;
};

TEST_F(GatewayTest, HelloIsWelcomedAndRecorded) {
  connect(1);
  json w = lastSent(1);
  EXPECT_EQ(w["type"], "welcome");
  EXPECT_EQ(w["body"]["node_id"], node_);
  EXPECT_EQ(w["body"]["ping_interval_s"], 20);
  EXPECT_TRUE(gw_->isOnline(node_));
  EXPECT_EQ(gw_->onlineCount(), 1u);
  EXPECT_EQ(metrics_.value("zlh_agents_connected"), 1);
  auto n = store_->getNode(node_);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->version, "9.9");
  EXPECT_EQ((*n->capacity)["memory_bytes"], 1024);
  EXPECT_EQ(n->plugins[0]["name"], "system");
  EXPECT_TRUE(n->last_seen.has_value());
  exec_.advance(20s);  // the hello timer was cancelled
  EXPECT_FALSE(transport_.closed.count(1));
  gw_->onLinkClosed(1);
  EXPECT_FALSE(gw_->isOnline(node_));
  EXPECT_EQ(metrics_.value("zlh_agents_connected"), 0);
}

TEST_F(GatewayTest, HelloForAnotherNodeIsRefusedWith4003) {
  gw_->onLinkOpen(1, "peer", node_);
  gw_->onLinkMessage(1, hello("nd_other"), false);
  ASSERT_TRUE(transport_.closed.count(1));
  EXPECT_EQ(transport_.closed[1].first, 4003);
  EXPECT_EQ(metrics_.value("zlh_agent_link_auth_failures_total", {"node_mismatch"}), 1);
  EXPECT_FALSE(gw_->isOnline(node_));
}

TEST_F(GatewayTest, NoHelloInTimeCloses4400) {
  gw_->onLinkOpen(1, "peer", node_);
  exec_.advance(9s);
  EXPECT_FALSE(transport_.closed.count(1));
  exec_.advance(2s);
  ASSERT_TRUE(transport_.closed.count(1));
  EXPECT_EQ(transport_.closed[1].first, 4400);
}

TEST_F(GatewayTest, BadMessagesGetErrorsThenClose4400) {
  connect(1);
  for (int i = 0; i < 10; ++i) gw_->onLinkMessage(1, "{not json", false);
  EXPECT_FALSE(transport_.closed.count(1));
  EXPECT_EQ(lastSent(1)["type"], "error");
  EXPECT_EQ(lastSent(1)["body"]["code"], "malformed");
  gw_->onLinkMessage(1, R"({"v":1,"type":"nope","id":"x1","ts":1,"body":{}})", false);
  ASSERT_TRUE(transport_.closed.count(1));
  EXPECT_EQ(transport_.closed[1].first, 4400);
}

TEST_F(GatewayTest, BadMessagesOutsideTheWindowAreForgotten) {
  connect(1);
  for (int i = 0; i < 30; ++i) {
    gw_->onLinkMessage(1, "{not json", false);
    exec_.advance(7s);
  }
  EXPECT_FALSE(transport_.closed.count(1));
}

TEST_F(GatewayTest, MessagesBeforeHelloAreBad) {
  gw_->onLinkOpen(1, "peer", node_);
  gw_->onLinkMessage(1, proto::encode(proto::JobDone{"j", json::object(), std::nullopt, false}), false);
  EXPECT_EQ(lastSent(1)["body"]["code"], "failed_precondition");
  EXPECT_FALSE(gw_->isOnline(node_));
}

TEST_F(GatewayTest, SecondLinkReplacesFirstWith4008) {
  connect(1);
  connect(2);
  ASSERT_TRUE(transport_.closed.count(1));
  EXPECT_EQ(transport_.closed[1].first, 4008);
  EXPECT_FALSE(transport_.closed.count(2));
  EXPECT_EQ(metrics_.value("zlh_agent_link_replacements_total"), 1);
  gw_->onLinkClosed(1);  // the old link's close must not take the node offline
  EXPECT_TRUE(gw_->isOnline(node_));
  EXPECT_EQ(metrics_.value("zlh_agents_connected"), 1);
}

TEST_F(GatewayTest, JobRoundTrip) {
  connect(1);
  std::optional<proto::Result<JobOutcome>> out;
  gw_->dispatchJob({node_, "j1", "system.echo", std::nullopt, {{"a", 1}}, 5s},
                   [&](proto::Result<JobOutcome> r) { out = std::move(r); });
  json start = lastSent(1);
  EXPECT_EQ(start["type"], "job.start");
  EXPECT_EQ(start["body"]["job_id"], "j1");
  EXPECT_EQ(start["body"]["params"]["a"], 1);
  EXPECT_GT(start["body"]["deadline_ms"].get<int64_t>(), 0);
  EXPECT_FALSE(out.has_value());
  gw_->onLinkMessage(1, proto::encode(proto::JobDone{"j1", json{{"echo", 1}}, std::nullopt, true}), false);
  ASSERT_TRUE(out.has_value());
  ASSERT_TRUE(out->ok());
  EXPECT_EQ((*out)->result["echo"], 1);
  EXPECT_TRUE((*out)->redelivered);
  EXPECT_EQ(metrics_.value("zlh_agent_jobs_total", {"system.echo", "ok"}), 1);
  exec_.advance(10s);  // the timeout was cancelled: no second answer, no crash
}

TEST_F(GatewayTest, JobErrorTimeoutDropAndOffline) {
  std::optional<proto::Result<JobOutcome>> out;
  auto keep = [&](proto::Result<JobOutcome> r) { out = std::move(r); };
  gw_->dispatchJob({node_, "j0", "k", std::nullopt, json::object(), 5s}, keep);
  EXPECT_EQ(out->error().code, proto::ErrorCode::kUnavailable);

  connect(1);
  out.reset();
  gw_->dispatchJob({node_, "j1", "k", std::nullopt, json::object(), 5s}, keep);
  gw_->onLinkMessage(1, proto::encode(proto::JobDone{"j1", std::nullopt, proto::Error{proto::ErrorCode::kNotFound, "gone"}, false}), false);
  EXPECT_EQ(out->error().code, proto::ErrorCode::kNotFound);
  EXPECT_EQ(out->error().message, "gone");

  out.reset();
  gw_->dispatchJob({node_, "j2", "k", std::nullopt, json::object(), 5s}, keep);
  exec_.advance(4s);
  EXPECT_FALSE(out.has_value());
  exec_.advance(2s);
  EXPECT_EQ(out->error().code, proto::ErrorCode::kDeadlineExceeded);
  gw_->onLinkMessage(1, proto::encode(proto::JobDone{"j2", json::object(), std::nullopt, false}), false);

  out.reset();
  gw_->dispatchJob({node_, "j3", "k", std::nullopt, json::object(), 5s}, keep);
  gw_->onLinkClosed(1);
  EXPECT_EQ(out->error().code, proto::ErrorCode::kUnavailable);
  EXPECT_EQ(metrics_.value("zlh_agent_jobs_total", {"k", "unavailable"}), 2);
  EXPECT_EQ(metrics_.value("zlh_agent_jobs_total", {"k", "timeout"}), 1);
  EXPECT_EQ(metrics_.value("zlh_agent_jobs_total", {"k", "error"}), 1);
}

TEST_F(GatewayTest, DropNodeCloses4009AndShutdownCloses1001) {
  connect(1);
  gw_->dropNode(node_);
  EXPECT_EQ(transport_.closed[1].first, 4009);
  EXPECT_FALSE(gw_->isOnline(node_));
  gw_->onLinkClosed(1);

  connect(2);
  std::optional<proto::Result<JobOutcome>> out;
  gw_->dispatchJob({node_, "j", "k", std::nullopt, json::object(), 5s},
                   [&](proto::Result<JobOutcome> r) { out = std::move(r); });
  gw_->shutdown();
  EXPECT_EQ(transport_.closed[2].first, 1001);
  EXPECT_EQ(out->error().code, proto::ErrorCode::kUnavailable);
  gw_->onLinkOpen(3, "peer", node_);  // a link arriving during shutdown is turned away
  EXPECT_EQ(transport_.closed[3].first, 1001);
}

}  // namespace
}  // namespace zlh::coordinator::gateway
