// DirectDispatcher + OperationRecorder against a fake gateway.
#include <gtest/gtest.h>

#include "coordinator/instances/direct_dispatcher.h"
#include "coordinator/instances/operation_recorder.h"
#include "coordinator/instances/tests/fake_links.h"
#include "coordinator/instances/tests/test_db.h"

namespace zlh::coordinator::instances {
namespace {
using nlohmann::json;
using proto::ErrorCode;
using store::OperationState;
using testing::FakeLinks;
using testing::TestDb;

class DispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override { node_ = db_.addNode("n1"); }
  store::Operation op(const std::string& id) { return *db_.store->getOperation(id); }
  store::Instance inst(const std::string& id) { return *db_.store->getInstance(id); }
  static gateway::JobOutcome ok(json result) {
    return gateway::JobOutcome{"", std::move(result), false};
  }
  static json view(const std::string& id, const std::string& state, uint64_t version) {
    return {{"instance",
             {{"id", id},
              {"state", state},
              {"state_version", version},
              {"address", "127.0.0.1:25565"},
              {"unresponsive", false}}}};
  }

  TestDb db_;
  FakeLinks links_;
  OperationRecorder recorder_{*db_.store};
  DirectDispatcher dispatcher_{*db_.store, links_, recorder_};
  std::string node_;
};

TEST_F(DispatcherTest, OfflineNodeWaitsThenTheJobGoesOutAtHelloAndSucceeds) {
  auto c = db_.createInstance(node_);
  dispatcher_.submit(*c.operation);
  EXPECT_TRUE(links_.sent.empty());
  auto waiting = op(c.operation->id);
  EXPECT_EQ(waiting.state, OperationState::kWaiting);
  ASSERT_TRUE(waiting.error);
  EXPECT_EQ(waiting.error->code, ErrorCode::kUnavailable);
  EXPECT_NE(waiting.error->message.find("offline"), std::string::npos);

  links_.online.insert(node_);
  dispatcher_.onNodeReady(node_);
  ASSERT_EQ(links_.sent.size(), 1u);
  const auto& req = links_.sent[0].request;
  EXPECT_EQ(req.kind, "lifecycle.create");
  EXPECT_EQ(req.job_id, c.operation->id);  // the agent's redelivery memory makes resends harmless
  EXPECT_EQ(req.instance_id, c.instance->id);
  EXPECT_EQ(req.node_id, node_);
  EXPECT_EQ(req.params["template"], "test");
  EXPECT_EQ(req.params["start"], true);
  auto running = op(c.operation->id);
  EXPECT_EQ(running.state, OperationState::kRunning);
  EXPECT_EQ(running.attempts, 1);
  EXPECT_FALSE(running.error);

  links_.sent[0].done(ok(view(c.instance->id, "running", 4)));
  EXPECT_EQ(op(c.operation->id).state, OperationState::kSucceeded);
  auto i = inst(c.instance->id);
  EXPECT_EQ(i.state, "running");
  EXPECT_EQ(i.state_version, 4u);
  EXPECT_EQ(i.address, "127.0.0.1:25565");
  EXPECT_EQ(dispatcher_.inFlight(), 0u);
}

TEST_F(DispatcherTest, AnAgentErrorFailsTheOperationAndTheInstance) {
  links_.online.insert(node_);
  auto c = db_.createInstance(node_);
  dispatcher_.submit(*c.operation);
  ASSERT_EQ(links_.sent.size(), 1u);
  links_.sent[0].done(proto::makeError(ErrorCode::kInvalidArgument, "unknown template \"test\""));
  auto failed = op(c.operation->id);
  EXPECT_EQ(failed.state, OperationState::kFailed);
  ASSERT_TRUE(failed.error);
  EXPECT_EQ(failed.error->code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(failed.error->message, "unknown template \"test\"");
  EXPECT_EQ(inst(c.instance->id).state, "failed");
}

TEST_F(DispatcherTest, ALostLinkParksTheOperationAndHelloSendsItAgain) {
  links_.online.insert(node_);
  auto c = db_.createInstance(node_);
  dispatcher_.submit(*c.operation);
  links_.online.clear();
  links_.sent[0].done(proto::makeError(ErrorCode::kUnavailable, "the link to the node dropped"));
  auto parked = op(c.operation->id);
  EXPECT_EQ(parked.state, OperationState::kWaiting);
  EXPECT_NE(parked.error->message.find("dropped"), std::string::npos);

  links_.online.insert(node_);
  dispatcher_.onNodeReady(node_);
  ASSERT_EQ(links_.sent.size(), 2u);
  EXPECT_EQ(links_.sent[1].request.job_id, c.operation->id);
  EXPECT_EQ(op(c.operation->id).attempts, 2);
  links_.sent[1].done(
      gateway::JobOutcome{c.operation->id, view(c.instance->id, "installed", 2), true});
  EXPECT_EQ(op(c.operation->id).state, OperationState::kSucceeded);
  EXPECT_EQ(inst(c.instance->id).state, "installed");
}

TEST_F(DispatcherTest, UnavailableFromAnOnlineAgentIsAFailure) {
  links_.online.insert(node_);
  auto c = db_.createInstance(node_);
  dispatcher_.submit(*c.operation);
  links_.sent[0].done(proto::makeError(ErrorCode::kUnavailable, "plugin lifecycle failed"));
  EXPECT_EQ(op(c.operation->id).state, OperationState::kFailed);
}

TEST_F(DispatcherTest, OnlyTheNewestAttemptCounts) {
  links_.online.insert(node_);
  auto c = db_.createInstance(node_);
  dispatcher_.submit(*c.operation);
  dispatcher_.onNodeReady(node_);  // a replacing link: sent again
  ASSERT_EQ(links_.sent.size(), 2u);
  links_.sent[0].done(
      proto::makeError(ErrorCode::kUnavailable, "replaced"));  // the old link's answer
  EXPECT_EQ(op(c.operation->id).state, OperationState::kRunning);
  links_.sent[1].done(ok(view(c.instance->id, "running", 1)));
  EXPECT_EQ(op(c.operation->id).state, OperationState::kSucceeded);
  // A late duplicate answer changes nothing.
  links_.sent[1].done(proto::makeError(ErrorCode::kInternal, "late"));
  EXPECT_EQ(op(c.operation->id).state, OperationState::kSucceeded);
}

TEST_F(DispatcherTest, ResumeParksEverythingUntilEachNodeConnects) {
  std::string other = db_.addNode("n2");
  auto a = db_.createInstance(node_, "a");
  auto b = db_.createInstance(other, "b");
  auto power = db_.store->startOperation({store::OperationKind::kInstancePower,
                                          a.instance->id,
                                          db_.user,
                                          {{"action", "stop"}},
                                          "stopped"});
  ASSERT_TRUE(power.ok());
  ASSERT_TRUE(
      *db_.store->markOperation(a.operation->id, OperationState::kRunning, std::nullopt, true));

  dispatcher_.resume();  // a fresh start: nobody is online yet
  EXPECT_TRUE(links_.sent.empty());
  EXPECT_EQ(op(a.operation->id).state, OperationState::kWaiting);
  EXPECT_EQ(op(a.operation->id).attempts, 1);
  EXPECT_EQ(op(b.operation->id).state, OperationState::kWaiting);
  EXPECT_EQ(op(power->second.id).state, OperationState::kWaiting);

  links_.online.insert(node_);
  dispatcher_.onNodeReady(node_);
  ASSERT_EQ(links_.sent.size(), 2u);  // node_'s two, oldest first; the other node's wait on
  EXPECT_EQ(links_.sent[0].request.kind, "lifecycle.create");
  EXPECT_EQ(links_.sent[1].request.kind, "lifecycle.stop");
  EXPECT_EQ(links_.sent[1].request.params, json::object());
  EXPECT_EQ(op(b.operation->id).state, OperationState::kWaiting);
}

TEST_F(DispatcherTest, DeleteRemovesTheInstanceOrRestoresItsDesiredState) {
  links_.online.insert(node_);
  auto c = db_.createInstance(node_);
  ASSERT_TRUE(*db_.store->finishOperation(c.operation->id, {}));
  auto del = db_.store->startOperation({store::OperationKind::kInstanceDelete,
                                        c.instance->id,
                                        db_.user,
                                        {{"previous_desired_state", "stopped"}},
                                        "deleted"});
  dispatcher_.submit(del->second);
  ASSERT_EQ(links_.sent.size(), 1u);
  EXPECT_EQ(links_.sent[0].request.kind, "lifecycle.delete");
  EXPECT_EQ(links_.sent[0].request.params, json::object());
  links_.sent[0].done(proto::makeError(ErrorCode::kInternal, "rm failed"));
  EXPECT_EQ(op(del->second.id).state, OperationState::kFailed);
  EXPECT_EQ(inst(c.instance->id).desired_state, "stopped");

  auto again = db_.store->startOperation({store::OperationKind::kInstanceDelete,
                                          c.instance->id,
                                          db_.user,
                                          {{"previous_desired_state", "stopped"}},
                                          "deleted"});
  dispatcher_.submit(again->second);
  links_.sent[1].done(ok({{"deleted", true}}));
  EXPECT_EQ(op(again->second.id).state, OperationState::kSucceeded);
  EXPECT_EQ(db_.store->getInstance(c.instance->id).error().code, ErrorCode::kNotFound);
}

TEST_F(DispatcherTest, AnOperationOfADeletedNodeSaysSo) {
  auto c = db_.createInstance(node_);
  ASSERT_TRUE(db_.store->deleteNode(node_).ok());
  dispatcher_.submit(*c.operation);
  auto waiting = op(c.operation->id);
  EXPECT_EQ(waiting.state, OperationState::kWaiting);
  EXPECT_NE(waiting.error->message.find("does not exist"), std::string::npos);
}

TEST(OperationRecorder, IgnoresAResultAboutAnotherInstance) {
  store::Operation op;
  op.id = "op_1";
  op.instance_id = "in_1";
  op.node_id = "nd_1";
  auto o = OperationRecorder::outcomeOf(
      op,
      gateway::JobOutcome{"op_1", {{"instance", {{"id", "in_2"}, {"state_version", 1}}}}, false});
  EXPECT_EQ(o.state, OperationState::kSucceeded);
  EXPECT_FALSE(o.observe);
  auto bad_state = OperationRecorder::outcomeOf(
      op, gateway::JobOutcome{
              "op_1",
              {{"instance", {{"id", "in_1"}, {"state", "dancing"}, {"state_version", 1}}}},
              false});
  ASSERT_TRUE(bad_state.observe);
  EXPECT_FALSE(bad_state.observe->state);  // unknown states are not taken
}

}  // namespace
}  // namespace zlh::coordinator::instances
