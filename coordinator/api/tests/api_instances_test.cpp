// POST /api/v1/instances: shapes, idempotency, validation, owner, placement.
#include "coordinator/api/tests/instances_fixture.h"

namespace zlh::coordinator::api {
namespace {
using nlohmann::json;
using testing::InstancesApiTest;

TEST_F(InstancesApiTest, CreateAnswers202WithTheShapesAndSendsOneJob) {
  Response r = create(alice_, "key-1", R"({"name":"My Server","template":"test","start":false,
      "resources":{"memory_mb":1024,"disk_mb":2048,"cpu_pct":150},"env":{"EULA":"true"},"params":{"motd":"hi"}})");
  ASSERT_EQ(r.status, 202) << r.body;
  json b = json::parse(r.body);
  EXPECT_EQ(keys(b), (std::set<std::string>{"operation", "instance"}));
  const json& inst = b["instance"];
  EXPECT_EQ(keys(inst), (std::set<std::string>{"id", "name", "owner", "template", "node_id",
                                               "state", "desired_state", "unresponsive", "address",
                                               "created_at", "updated_at", "state_version"}));
  EXPECT_EQ(inst["id"].get<std::string>().substr(0, 3), "in_");
  EXPECT_EQ(inst["name"], "My Server");
  EXPECT_EQ(inst["owner"], user_ids_[alice_]);
  EXPECT_EQ(inst["template"], "test");
  EXPECT_EQ(inst["node_id"], node_);
  EXPECT_EQ(inst["state"], "provisioning");
  EXPECT_EQ(inst["desired_state"], "stopped");
  EXPECT_EQ(inst["unresponsive"], false);
  EXPECT_TRUE(inst["address"].is_null());
  EXPECT_TRUE(inst["created_at"].get<std::string>().ends_with("Z"));
  const json& op = b["operation"];
  EXPECT_EQ(keys(op), (std::set<std::string>{"id", "kind", "state", "instance_id", "attempts",
                                             "error", "created_at", "updated_at", "deadline",
                                             "overdue"}));
  EXPECT_EQ(op["overdue"], false);
  EXPECT_FALSE(op["deadline"].is_null());
  EXPECT_EQ(op["kind"], "instance.create");
  EXPECT_EQ(op["state"], "running");
  EXPECT_EQ(op["instance_id"], inst["id"]);
  EXPECT_EQ(op["attempts"], 1);
  EXPECT_TRUE(op["error"].is_null());

  ASSERT_EQ(links_.sent.size(), 1u);
  const auto& job = links_.sent[0].request;
  EXPECT_EQ(job.kind, "lifecycle.create");
  EXPECT_EQ(job.job_id, op["id"]);
  EXPECT_EQ(job.instance_id, inst["id"]);
  EXPECT_EQ(job.params, json::parse(R"({"template":"test","name":"My Server","start":false,
      "resources":{"memory_mb":1024,"disk_mb":2048,"cpu_pct":150},"env":{"EULA":"true"},"params":{"motd":"hi"}})"));

  links_.sent[0].done(gateway::JobOutcome{
      "",
      {{"instance",
        {{"id", inst["id"]}, {"state", "installed"}, {"state_version", 3}, {"address", nullptr}}}},
      false});
  json got =
      json::parse(call("GET", "/api/v1/instances/" + inst["id"].get<std::string>(), alice_).body);
  EXPECT_EQ(got["state"], "installed");
  EXPECT_EQ(got["state_version"], 3);
  json opnow =
      json::parse(call("GET", "/api/v1/operations/" + op["id"].get<std::string>(), alice_).body);
  EXPECT_EQ(opnow["state"], "succeeded");
}

TEST_F(InstancesApiTest, IdempotencyKeyReplaysTheSameRequestAndRefusesAnother) {
  EXPECT_EQ(create(alice_, "").status, 400);
  EXPECT_EQ(message(create(alice_, "")), "the Idempotency-Key header is required");
  EXPECT_EQ(create(alice_, std::string(256, 'k')).status, 400);
  EXPECT_EQ(create(alice_, "has space").status, 400);

  json first;
  for (int i = 0; i < 20; ++i) {
    Response r = create(alice_, "same");
    ASSERT_EQ(r.status, 202) << r.body;
    json b = json::parse(r.body);
    if (i == 0) first = b;
    EXPECT_EQ(b["operation"]["id"], first["operation"]["id"]);
    EXPECT_EQ(b["instance"]["id"], first["instance"]["id"]);
  }
  EXPECT_EQ(links_.sent.size(), 1u);  // one job
  EXPECT_EQ(store_->listInstances(std::nullopt)->size(), 1u);
  EXPECT_EQ(store_->countOperations()->size(), 1u);

  // Same JSON, other key order and spacing: the same request.
  Response reordered = create(alice_, "same", R"({ "template" : "test", "name" : "My Server" })");
  EXPECT_EQ(reordered.status, 202);
  EXPECT_EQ(json::parse(reordered.body)["operation"]["id"], first["operation"]["id"]);
  Response other = create(alice_, "same", R"({"name":"Other","template":"test"})");
  EXPECT_EQ(other.status, 422);
  EXPECT_EQ(code(other), "failed_precondition");
  // Keys are per user.
  Response bobs = create(bob_, "same");
  EXPECT_EQ(bobs.status, 202);
  EXPECT_NE(json::parse(bobs.body)["instance"]["id"], first["instance"]["id"]);
}

TEST_F(InstancesApiTest, InvalidBodiesAre400NamingTheField) {
  struct Case {
    const char* body;
    const char* field;
  };
  const Case cases[] = {
      {R"({"template":"test"})", "name"},
      {R"({"name":"","template":"test"})", "name"},
      {R"({"name":"a/b","template":"test"})", "name"},
      {R"({"name":5,"template":"test"})", "name"},
      {R"({"name":"x"})", "template"},
      {R"({"name":"x","template":""})", "template"},
      {R"({"name":"x","template":"../etc"})", "template"},
      {R"({"name":"x","template":"test","start":"yes"})", "start"},
      {R"({"name":"x","template":"test","node":5})", "node"},
      {R"({"name":"x","template":"test","resources":[]})", "resources"},
      {R"({"name":"x","template":"test","resources":{"memory_mb":-1}})", "resources.memory_mb"},
      {R"({"name":"x","template":"test","resources":{"gpus":1}})", "resources.gpus"},
      {R"({"name":"x","template":"test","env":{"A":1}})", "env.A"},
      {R"({"name":"x","template":"test","env":{"1A":"x"}})", "env"},
      {R"({"name":"x","template":"test","params":[1]})", "params"},
      {R"({"name":"x","template":"test","colour":"red"})", "colour"},
  };
  int n = 0;
  for (const auto& c : cases) {
    Response r = create(alice_, "k" + std::to_string(n++), c.body);
    EXPECT_EQ(r.status, 400) << c.body;
    EXPECT_EQ(code(r), "invalid_argument") << c.body;
    EXPECT_NE(message(r).find(c.field), std::string::npos) << c.body << " -> " << message(r);
  }
  EXPECT_EQ(create(alice_, "kx", "[1]").status, 400);
  EXPECT_EQ(create(alice_, "ky", "").status, 400);
  EXPECT_EQ(
      create(alice_, "kz", R"({"name":"Name with spaces_.-9","template":"minecraft-java"})").status,
      202);
  EXPECT_EQ(store_->listInstances(std::nullopt)->size(), 1u);
}

TEST_F(InstancesApiTest, OwnerIsForAdminsOnly) {
  std::string alice_id = user_ids_[alice_];
  Response denied =
      create(bob_, "k", R"({"name":"x","template":"test","owner":")" + alice_id + R"("})");
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(code(denied), "permission_denied");
  Response made =
      create(admin_, "k", R"({"name":"x","template":"test","owner":")" + alice_id + R"("})");
  ASSERT_EQ(made.status, 202) << made.body;
  json b = json::parse(made.body);
  EXPECT_EQ(b["instance"]["owner"], alice_id);
  EXPECT_EQ(json::parse(call("GET", "/api/v1/instances", alice_).body)["items"].size(), 1u);
  // The owner sees the operation an admin started on its instance.
  EXPECT_EQ(
      call("GET", "/api/v1/operations/" + b["operation"]["id"].get<std::string>(), alice_).status,
      200);
  EXPECT_EQ(create(admin_, "k2", R"({"name":"x","template":"test","owner":"usr_nope"})").status,
            400);
}

TEST_F(InstancesApiTest, PlacementConflictsAndExplicitNodes) {
  goOffline();
  Response none = create(alice_, "k1");
  EXPECT_EQ(none.status, 409);
  EXPECT_EQ(code(none), "conflict");
  EXPECT_NE(message(none).find("online"), std::string::npos);

  Response missing = create(alice_, "k2", R"({"name":"x","template":"test","node":"nd_nope"})");
  EXPECT_EQ(missing.status, 400);
  EXPECT_NE(message(missing).find("node"), std::string::npos);

  // An explicit node that is offline: accepted, the operation waits for it.
  Response waits =
      create(alice_, "k3", R"({"name":"x","template":"test","node":")" + node_ + R"("})");
  ASSERT_EQ(waits.status, 202) << waits.body;
  json op = json::parse(waits.body)["operation"];
  EXPECT_EQ(op["state"], "waiting");
  EXPECT_EQ(op["error"]["code"], "unavailable");
  EXPECT_TRUE(links_.sent.empty());
  links_.online.insert(node_);
  dispatcher_->onNodeReady(node_);
  ASSERT_EQ(links_.sent.size(), 1u);
  EXPECT_EQ(links_.sent[0].request.job_id, op["id"]);
}

TEST_F(InstancesApiTest, AQueuedOperationCanBeCancelledARunningOneCannot) {
  goOffline();
  Response waits =
      create(alice_, "k1", R"({"name":"x","template":"test","node":")" + node_ + R"("})");
  ASSERT_EQ(waits.status, 202) << waits.body;
  std::string op = json::parse(waits.body)["operation"]["id"];
  std::string inst = json::parse(waits.body)["instance"]["id"];
  EXPECT_EQ(call("POST", "/api/v1/operations/" + op + "/cancel", bob_).status, 404);
  Response c = call("POST", "/api/v1/operations/" + op + "/cancel", alice_);
  ASSERT_EQ(c.status, 200) << c.body;
  EXPECT_EQ(json::parse(c.body)["state"], "cancelled");
  EXPECT_EQ(json::parse(call("GET", "/api/v1/instances/" + inst, alice_).body)["state"], "failed");
  Response again = call("POST", "/api/v1/operations/" + op + "/cancel", alice_);
  EXPECT_EQ(again.status, 422);
  EXPECT_EQ(code(again), "failed_precondition");
  // Nothing is sent when the node returns.
  links_.online.insert(node_);
  dispatcher_->onNodeReady(node_);
  EXPECT_TRUE(links_.sent.empty());

  Response runs = create(alice_, "k2");
  std::string op2 = json::parse(runs.body)["operation"]["id"];
  ASSERT_EQ(links_.sent.size(), 1u);
  Response busy = call("POST", "/api/v1/operations/" + op2 + "/cancel", alice_);
  EXPECT_EQ(busy.status, 409);
  EXPECT_EQ(code(busy), "conflict");
}

}  // namespace
}  // namespace zlh::coordinator::api
