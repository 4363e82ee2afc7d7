// The whole agent side of instances with the real gateway over a recording transport: hello ->
// waiting operations sent with job_id = operation id -> job.done -> events -> reconcile.
#include "coordinator/instances/agent_events.h"

#include <gtest/gtest.h>

#include "coordinator/gateway/gateway.h"
#include "coordinator/gateway/tests/fakes.h"
#include "coordinator/instances/queue_worker.h"
#include "coordinator/instances/tests/test_db.h"

namespace zlh::coordinator::instances {
namespace {
using nlohmann::json;
using store::OperationState;
using testing::TestDb;

class AgentEventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = db_.addNode("n1");
    other_ = db_.addNode("n2");
    gw_.setEventSink(&events_);
    dispatcher_.resume();
  }
  static QueueOptions queueOptions() {
    QueueOptions o;
    o.owner = "co_test";
    return o;
  }
  void connect(gateway::LinkId link, const std::string& node,
               std::vector<proto::InstanceSummary> inv = {}) {
    gw_.onLinkOpen(link, "10.0.0.1:5000", node);
    proto::Hello h;
    h.node_id = node;
    h.agent_version = "1";
    h.instances = std::move(inv);
    gw_.onLinkMessage(link, proto::encode(h), false);
  }
  std::vector<json> sentOfType(gateway::LinkId link, const std::string& type) {
    std::vector<json> out;
    for (const auto& s : transport_.sent[link]) {
      json j = json::parse(s);
      if (j["type"] == type) out.push_back(j);
    }
    return out;
  }
  template <class T>
  void send(gateway::LinkId link, const T& msg) {
    gw_.onLinkMessage(link, proto::encode(msg), false);
  }
  store::Instance inst(const std::string& id) { return *db_.store->getInstance(id); }
  size_t eventCount(const std::string& id) { return db_.store->listInstanceEvents(id)->size(); }

  TestDb db_;
  common::Metrics metrics_{"test"};
  gateway::testing::ManualExecutor exec_;
  gateway::testing::RecordingTransport transport_;
  gateway::Gateway gw_{*db_.store, metrics_, exec_, transport_, gateway::GatewayOptions{}};
  QueueWorker dispatcher_{*db_.store, gw_, exec_, metrics_, queueOptions()};
  AgentEvents events_{*db_.store, dispatcher_};
  std::string node_, other_;
};

TEST_F(AgentEventsTest, CreateWaitsForTheNodeThenRunsAndEventsUpdateTheInstance) {
  auto c = db_.createInstance(node_);
  const std::string id = c.instance->id, op = c.operation->id;
  dispatcher_.submit(*c.operation);
  EXPECT_EQ(db_.store->getOperation(op)->state, OperationState::kWaiting);

  connect(1, node_);
  auto starts = sentOfType(1, "job.start");
  ASSERT_EQ(starts.size(), 1u);
  EXPECT_EQ(starts[0]["body"]["job_id"], op);
  EXPECT_EQ(starts[0]["body"]["kind"], "lifecycle.create");
  EXPECT_EQ(starts[0]["body"]["instance_id"], id);
  EXPECT_EQ(starts[0]["body"]["params"]["name"], "srv");
  EXPECT_EQ(db_.store->getOperation(op)->state, OperationState::kRunning);

  send(1, proto::InstanceState{id, "installing", 1, std::nullopt});
  EXPECT_EQ(inst(id).state, "installing");
  proto::JobDone done;
  done.job_id = op;
  done.result = json{
      {"instance",
       {{"id", id}, {"state", "running"}, {"state_version", 3}, {"address", "127.0.0.1:30000"}}}};
  send(1, done);
  EXPECT_EQ(db_.store->getOperation(op)->state, OperationState::kSucceeded);
  EXPECT_EQ(inst(id).state, "running");
  EXPECT_EQ(inst(id).address, "127.0.0.1:30000");

  send(1, proto::InstanceState{id, "stopped", 2, std::string("late")});  // stale: dropped
  EXPECT_EQ(inst(id).state, "running");
  send(1, proto::InstanceReady{id, 4});
  EXPECT_EQ(inst(id).state, "ready");
  EXPECT_EQ(inst(id).state_version, 4u);
  send(1, proto::InstanceUnresponsive{id, 4, true});
  EXPECT_TRUE(inst(id).unresponsive);
  send(1, proto::InstanceCrashed{id, 5, {{"code", 1}, {"signal", nullptr}}});
  send(1, proto::InstanceState{id, "crashed", 5, std::nullopt});
  EXPECT_EQ(inst(id).state, "crashed");
  send(1, proto::InstanceState{id, "dancing", 9, std::nullopt});  // unknown state: ignored
  EXPECT_EQ(inst(id).state, "crashed");

  auto events = *db_.store->listInstanceEvents(id);
  std::vector<std::string> types;
  for (const auto& e : events) types.push_back(e.type);
  EXPECT_EQ(types,
            (std::vector<std::string>{"instance.state", "instance.ready", "instance.unresponsive",
                                      "instance.crashed", "instance.state"}));
  EXPECT_EQ(events[3].body["exit"]["code"], 1);
}

TEST_F(AgentEventsTest, ANodeSpeaksOnlyForItsOwnInstances) {
  auto c = db_.createInstance(node_);
  connect(2, other_);
  send(2, proto::InstanceState{c.instance->id, "failed", 7, std::nullopt});
  EXPECT_EQ(inst(c.instance->id).state, "provisioning");
  EXPECT_EQ(eventCount(c.instance->id), 0u);
  // A job.done for the operation from the wrong node resolves nothing either.
  proto::JobDone done;
  done.job_id = c.operation->id;
  done.result = json::object();
  send(2, done);
  EXPECT_NE(db_.store->getOperation(c.operation->id)->state, OperationState::kSucceeded);
}

TEST_F(AgentEventsTest, HelloInventoryCorrectsKnownInstancesAndLeavesUnknownOnesAlone) {
  auto c = db_.createInstance(node_);
  const std::string id = c.instance->id;
  ASSERT_TRUE(
      *db_.store->observeInstance({id, node_, 3, std::string("running"), false, false, {}, {}}));
  connect(1, node_, {{id, "test", "stopped", 6}, {"in_unknown", "test", "running", 1}});
  EXPECT_EQ(inst(id).state, "stopped");
  EXPECT_EQ(inst(id).state_version, 6u);
  auto events = *db_.store->listInstanceEvents(id);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].body["reason"], "reported in the agent's hello");
  EXPECT_EQ(db_.store->getInstance("in_unknown").error().code, proto::ErrorCode::kNotFound);

  // Same inventory again (a reconnect): nothing new recorded; an older version is ignored.
  gw_.onLinkClosed(1);
  connect(3, node_, {{id, "test", "stopped", 6}});
  EXPECT_EQ(eventCount(id), 1u);
  gw_.onLinkClosed(3);
  connect(4, node_, {{id, "test", "running", 5}});
  EXPECT_EQ(inst(id).state, "stopped");
}

TEST_F(AgentEventsTest, AnInstanceThatStopsItselfIsDesiredStoppedAPlatformStopChangesNothing) {
  auto c = db_.createInstance(node_);
  const std::string id = c.instance->id;
  connect(1, node_);
  ASSERT_EQ(inst(id).desired_state, "running");
  send(1, proto::InstanceState{id, "ready", 3, std::nullopt});
  send(1, proto::InstanceState{id, "stopped", 4, std::string("process exited cleanly (code 0)")});
  EXPECT_EQ(inst(id).state, "stopped");
  EXPECT_EQ(inst(id).desired_state, "stopped");  // the owner's `stop` is not undone

  // Stopped -> stopped again (a stale or repeated report) or failed: desired untouched.
  auto d = db_.createInstance(node_, "k2");
  const std::string other = d.instance->id;
  send(1, proto::InstanceState{other, "installed", 2, std::nullopt});
  send(1, proto::InstanceState{other, "stopped", 3, std::nullopt});
  EXPECT_EQ(inst(other).desired_state, "running");  // never up: a start is still wanted
  send(1, proto::InstanceState{other, "ready", 4, std::nullopt});
  send(1, proto::InstanceState{other, "failed", 5, std::string("crash loop")});
  EXPECT_EQ(inst(other).desired_state, "running");

  // Typed while the link was down: the hello's inventory says so.
  ASSERT_TRUE(*db_.store->observeInstance({other, node_, 6, std::string("ready"), false, false, {}, {}}));
  gw_.onLinkClosed(1);
  connect(2, node_, {{other, "test", "stopped", 7}});
  EXPECT_EQ(inst(other).desired_state, "stopped");
}

TEST_F(AgentEventsTest, ALinkDroppedMidJobIsResentOnReconnectAndAnsweredOnce) {
  connect(1, node_);
  auto c = db_.createInstance(node_);
  dispatcher_.submit(*c.operation);
  ASSERT_EQ(sentOfType(1, "job.start").size(), 1u);
  gw_.onLinkClosed(1);
  EXPECT_EQ(db_.store->getOperation(c.operation->id)->state, OperationState::kWaiting);
  connect(2, node_);
  auto starts = sentOfType(2, "job.start");
  ASSERT_EQ(starts.size(), 1u);
  EXPECT_EQ(starts[0]["body"]["job_id"], c.operation->id);
  proto::JobDone done;
  done.job_id = c.operation->id;
  done.error = proto::Error{proto::ErrorCode::kFailedPrecondition, "no such template"};
  done.redelivered = true;
  send(2, done);
  auto op = *db_.store->getOperation(c.operation->id);
  EXPECT_EQ(op.state, OperationState::kFailed);
  EXPECT_EQ(op.attempts, 2);
  EXPECT_EQ(op.error->message, "no such template");
}

}  // namespace
}  // namespace zlh::coordinator::instances
