// Instance routes after creation: ownership, delete, power, events, gauges.
#include "coordinator/api/tests/instances_fixture.h"

namespace zlh::coordinator::api {
namespace {
using nlohmann::json;
using testing::InstancesApiTest;

TEST_F(InstancesApiTest, AnotherUsersInstanceIsNotFoundOnEveryRoute) {
  json b = createdAndAnswered(bob_, "k");
  std::string id = b["instance"]["id"], op = b["operation"]["id"];
  for (const std::string& bad :
       {id, std::string("in_doesnotexist"), std::string("not-an-id%00"), std::string(300, 'x')}) {
    EXPECT_EQ(call("GET", "/api/v1/instances/" + bad, alice_).status, 404) << bad;
    EXPECT_EQ(call("DELETE", "/api/v1/instances/" + bad, alice_).status, 404) << bad;
    EXPECT_EQ(
        call("POST", "/api/v1/instances/" + bad + "/power", alice_, R"({"action":"stop"})").status,
        404)
        << bad;
    EXPECT_EQ(call("GET", "/api/v1/instances/" + bad + "/events", alice_).status, 404) << bad;
  }
  EXPECT_EQ(call("GET", "/api/v1/operations/" + op, alice_).status, 404);
  EXPECT_EQ(call("GET", "/api/v1/operations/op_nope", alice_).status, 404);
  EXPECT_EQ(json::parse(call("GET", "/api/v1/instances", alice_).body)["items"].size(), 0u);
  // Nothing was changed by those attempts.
  EXPECT_EQ(store_->getInstance(id)->desired_state, "running");
  EXPECT_EQ(links_.sent.size(), 1u);
  // The owner and an admin see it.
  EXPECT_EQ(call("GET", "/api/v1/instances/" + id, bob_).status, 200);
  EXPECT_EQ(call("GET", "/api/v1/instances/" + id, admin_).status, 200);
  EXPECT_EQ(call("GET", "/api/v1/operations/" + op, admin_).status, 200);
  createdAndAnswered(alice_, "k");
  EXPECT_EQ(json::parse(call("GET", "/api/v1/instances", admin_).body)["items"].size(), 2u);
  json mine = json::parse(call("GET", "/api/v1/instances", alice_).body);
  EXPECT_EQ(mine["items"].size(), 1u);
  EXPECT_TRUE(mine["next_cursor"].is_null());
}

TEST_F(InstancesApiTest, MetricsAndMissingTokensAreRefused) {
  EXPECT_EQ(call("GET", "/api/v1/instances", metrics_token_).status, 403);
  EXPECT_EQ(create(metrics_token_, "k").status, 403);
  EXPECT_EQ(call("GET", "/api/v1/operations/op_x", metrics_token_).status, 403);
  EXPECT_EQ(call("GET", "/api/v1/instances", "").status, 401);
}

TEST_F(InstancesApiTest, DeleteIsAcceptedOnceAndTheInstanceGoesWhenTheAgentConfirms) {
  json b = createdAndAnswered(alice_, "k");
  std::string id = b["instance"]["id"];
  Response del = call("DELETE", "/api/v1/instances/" + id, alice_);
  ASSERT_EQ(del.status, 202) << del.body;
  json d = json::parse(del.body);
  EXPECT_EQ(d["instance"]["state"], "deleting");
  EXPECT_EQ(d["instance"]["desired_state"], "deleted");
  EXPECT_EQ(d["operation"]["kind"], "instance.delete");
  EXPECT_EQ(d["operation"]["state"], "running");
  ASSERT_EQ(links_.sent.size(), 2u);
  EXPECT_EQ(links_.sent[1].request.kind, "lifecycle.delete");
  // Deleting again while it runs: the same operation.
  Response again = call("DELETE", "/api/v1/instances/" + id, alice_);
  EXPECT_EQ(again.status, 202);
  EXPECT_EQ(json::parse(again.body)["operation"]["id"], d["operation"]["id"]);
  EXPECT_EQ(links_.sent.size(), 2u);
  EXPECT_EQ(
      call("POST", "/api/v1/instances/" + id + "/power", alice_, R"({"action":"start"})").status,
      409);
  EXPECT_EQ(json::parse(call("GET", "/api/v1/instances/" + id, alice_).body)["state"], "deleting");

  links_.sent[1].done(gateway::JobOutcome{"", {{"deleted", true}}, false});
  EXPECT_EQ(call("GET", "/api/v1/instances/" + id, alice_).status, 404);
  json op = json::parse(
      call("GET", "/api/v1/operations/" + d["operation"]["id"].get<std::string>(), alice_).body);
  EXPECT_EQ(op["state"], "succeeded");
  // A replay of the create key now has no instance to show.
  Response replay = create(alice_, "k");
  EXPECT_EQ(replay.status, 202);
  EXPECT_TRUE(json::parse(replay.body)["instance"].is_null());
}

TEST_F(InstancesApiTest, PowerActions) {
  Response r = create(alice_, "k");
  std::string id = json::parse(r.body)["instance"]["id"];
  std::string path = "/api/v1/instances/" + id + "/power";
  Response early = call("POST", path, alice_, R"({"action":"stop"})");
  EXPECT_EQ(early.status, 409);  // still provisioning
  links_.sent[0].done(gateway::JobOutcome{
      "", {{"instance", {{"id", id}, {"state", "running"}, {"state_version", 2}}}}, false});
  for (const char* bad :
       {R"({})", R"({"action":"explode"})", R"({"action":1})", R"({"action":"stop","x":1})", "[]"})
    EXPECT_EQ(call("POST", path, alice_, bad).status, 400) << bad;
  Response stop = call("POST", path, alice_, R"({"action":"stop"})");
  ASSERT_EQ(stop.status, 202) << stop.body;
  json s = json::parse(stop.body);
  EXPECT_EQ(s["operation"]["kind"], "instance.power");
  EXPECT_EQ(s["instance"]["desired_state"], "stopped");
  ASSERT_EQ(links_.sent.size(), 2u);
  EXPECT_EQ(links_.sent[1].request.kind, "lifecycle.stop");
  EXPECT_EQ(links_.sent[1].request.job_id, s["operation"]["id"]);
  links_.sent[1].done(
      proto::makeError(proto::ErrorCode::kConflict, "another power action (start) is in progress"));
  json op = json::parse(
      call("GET", "/api/v1/operations/" + s["operation"]["id"].get<std::string>(), alice_).body);
  EXPECT_EQ(op["state"], "failed");
  EXPECT_EQ(op["error"]["code"], "conflict");
  EXPECT_EQ(op["error"]["message"], "another power action (start) is in progress");
  for (const char* action : {"start", "restart", "kill"}) {
    Response a = call("POST", path, alice_, std::string(R"({"action":")") + action + "\"}");
    EXPECT_EQ(a.status, 202);
    EXPECT_EQ(links_.sent.back().request.kind, std::string("lifecycle.") + action);
  }
}

TEST_F(InstancesApiTest, EventsOldestFirst) {
  json b = createdAndAnswered(alice_, "k");
  std::string id = b["instance"]["id"];
  for (uint64_t v : {3u, 4u}) {
    store::Observation o;
    o.instance_id = id;
    o.node_id = node_;
    o.state_version = v;
    o.state = v == 3 ? "stopping" : "stopped";
    o.event = store::InstanceEvent{"instance.state", common::now(), {{"state", *o.state}}};
    ASSERT_TRUE(*store_->observeInstance(o));
  }
  Response r = call("GET", "/api/v1/instances/" + id + "/events", alice_);
  ASSERT_EQ(r.status, 200);
  json e = json::parse(r.body);
  ASSERT_EQ(e["items"].size(), 2u);
  EXPECT_EQ(e["items"][0]["type"], "instance.state");
  EXPECT_EQ(e["items"][0]["body"]["state"], "stopping");
  EXPECT_EQ(e["items"][1]["body"]["state"], "stopped");
  EXPECT_TRUE(e["items"][0]["at"].get<std::string>().ends_with("Z"));
  EXPECT_TRUE(e["next_cursor"].is_null());
}

TEST_F(InstancesApiTest, GaugesCountOperationsAndInstances) {
  create(alice_, "k1");
  createdAndAnswered(alice_, "k2", "ready");
  Response m = call("GET", "/metrics", metrics_token_);
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("zlh_operations{kind=\"instance.create\",state=\"running\"} 1\n"),
            std::string::npos);
  EXPECT_NE(m.body.find("zlh_operations{kind=\"instance.create\",state=\"succeeded\"} 1\n"),
            std::string::npos);
  EXPECT_NE(m.body.find("zlh_operations{kind=\"instance.delete\",state=\"failed\"} 0\n"),
            std::string::npos);
  EXPECT_NE(m.body.find("zlh_instances{state=\"provisioning\"} 1\n"), std::string::npos);
  EXPECT_NE(m.body.find("zlh_instances{state=\"ready\"} 1\n"), std::string::npos);
  EXPECT_NE(m.body.find("zlh_instances{state=\"deleting\"} 0\n"), std::string::npos);
}

}  // namespace
}  // namespace zlh::coordinator::api
