#include "coordinator/store/tests/temp_store.h"
#include "coordinator/api/api_service.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "coordinator/common/tokens.h"
#include "coordinator/store/forwarding_store.h"

namespace zlh::coordinator::api {
namespace {
using nlohmann::json;

class FakeLinks : public gateway::NodeLinks {
 public:
  bool isOnline(const std::string& id) const override { return online.count(id) > 0; }
  size_t onlineCount() const override { return online.size(); }
  std::vector<std::string> onlineNodeIds() const override { return {online.begin(), online.end()}; }
  void dispatchJob(gateway::JobRequest r, gateway::JobCallback done) override {
    last = r;
    pending = std::move(done);
  }
  void dropNode(const std::string& id) override { dropped.push_back(id); }

  std::set<std::string> online;
  gateway::JobRequest last;
  gateway::JobCallback pending;
  std::vector<std::string> dropped;
};

class NullDispatcher : public instances::Dispatcher {
 public:
  void submit(const store::Operation&) override {}
  void resume() override {}
  void onNodeReady(const std::string&) override {}
  void onNodeGone(const std::string&) override {}
};

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    admin_ = makeToken("admin", store::Role::kAdmin);
    metrics_token_ = makeToken("metrics", store::Role::kMetrics);
    user_token_ = makeToken("user", store::Role::kUser);
    api_ = std::make_unique<ApiService>(*store_, metrics_, links_, dispatcher_, ApiOptions{});
  }
  void TearDown() override {
    api_.reset();
  }
  std::string makeToken(const std::string& name, store::Role role) {
    std::string t = common::newToken();
    EXPECT_TRUE(store_->createUserWithToken({name, role}, common::hashToken(t)).ok());
    return t;
  }
  Response call(const std::string& method, const std::string& path, const std::string& token,
                const std::string& body = "") {
    Request req;
    req.method = method;
    req.path = path;
    req.body = body;
    if (!token.empty()) req.headers["authorization"] = "Bearer " + token;
    Response out;
    out.status = 0;
    api_->handle(req, [&](Response r) { out = std::move(r); });
    return out;
  }
  store::testing::TempStore tmp_{"zlh-api-test"};
  std::unique_ptr<store::Store>& store_ = tmp_.store;
  common::Metrics metrics_{"test"};
  FakeLinks links_;
  NullDispatcher dispatcher_;
  std::unique_ptr<ApiService> api_;
  std::string admin_, metrics_token_, user_token_;
};

TEST_F(ApiTest, HealthzNeedsNoAuth) {
  links_.online = {"nd_a", "nd_b"};
  Response r = call("GET", "/healthz", "");
  EXPECT_EQ(r.status, 200);
  json queue = json::parse(R"({"available":0,"running":0,"oldest_available_age_seconds":0,
      "oldest_running_age_seconds":0,"overdue":0})");
  json want = json::parse(R"({"status":"ok","checks":{"db":{"ok":true},
      "agents_online":2,"operations":{"ok":true,"pending":0,"oldest_pending_age_seconds":0}}})");
  want["checks"]["queues"] = {
      {"ok", true}, {"provisioning", queue}, {"repair", queue}, {"billing_enforcement", queue}};
  EXPECT_EQ(json::parse(r.body), want);
}

/// The real store, except that it cannot be reached for the health check.
class UnreachableStore : public store::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  proto::Status ping() override { return proto::makeError(proto::ErrorCode::kUnavailable, "disk gone"); }
  proto::Result<std::vector<store::OperationBacklog>> operationBacklog() override {
    return proto::makeError(proto::ErrorCode::kUnavailable, "disk gone");
  }
};

TEST_F(ApiTest, HealthzIs503WhenTheStoreIsUnreachable) {
  UnreachableStore broken(*store_);
  ApiService api(broken, metrics_, links_, dispatcher_, ApiOptions{});
  Request req;
  req.method = "GET";
  req.path = "/healthz";
  Response out;
  api.handle(req, [&](Response r) { out = std::move(r); });
  EXPECT_EQ(out.status, 503);
  json body = json::parse(out.body);
  EXPECT_EQ(body["status"], "degraded");
  EXPECT_EQ(body["checks"]["db"]["ok"], false);
  EXPECT_EQ(body["checks"]["operations"]["ok"], false);
}

TEST_F(ApiTest, AuthErrors) {
  EXPECT_EQ(call("GET", "/api/v1/nodes", "").status, 401);
  EXPECT_EQ(call("GET", "/api/v1/nodes", "zlh_short").status, 401);
  EXPECT_EQ(call("GET", "/api/v1/nodes", common::newToken()).status, 401);
  Response forbidden = call("GET", "/api/v1/nodes", user_token_);
  EXPECT_EQ(forbidden.status, 403);
  EXPECT_EQ(json::parse(forbidden.body)["error"]["code"], "permission_denied");
  EXPECT_EQ(call("GET", "/api/v1/nodes", metrics_token_).status, 403);
  EXPECT_EQ(call("GET", "/metrics", metrics_token_).status, 200);
  EXPECT_EQ(call("GET", "/metrics", admin_).status, 200);
  EXPECT_EQ(call("GET", "/metrics", user_token_).status, 403);
}

TEST_F(ApiTest, NodeTokensCannotUseTheApi) {
  Response created = call("POST", "/api/v1/nodes", admin_, R"({"name":"n1"})");
  ASSERT_EQ(created.status, 201);
  std::string node_token = json::parse(created.body)["token"];
  EXPECT_EQ(call("GET", "/api/v1/nodes", node_token).status, 401);
}

TEST_F(ApiTest, NodesLifecycle) {
  Response created = call("POST", "/api/v1/nodes", admin_, R"({"name":"n1"})");
  ASSERT_EQ(created.status, 201) << created.body;
  json body = json::parse(created.body);
  std::string id = body["node"]["id"];
  EXPECT_TRUE(common::looksLikeToken(body["token"].get<std::string>()));
  EXPECT_EQ(body["node"]["status"], "offline");
  EXPECT_TRUE(body["node"]["last_seen"].is_null());
  EXPECT_EQ(call("POST", "/api/v1/nodes", admin_, R"({"name":"n1"})").status, 409);
  EXPECT_EQ(call("POST", "/api/v1/nodes", admin_, R"({"name":""})").status, 400);
  EXPECT_EQ(call("POST", "/api/v1/nodes", admin_, R"({"name":5})").status, 400);
  EXPECT_EQ(call("POST", "/api/v1/nodes", admin_, "[1]").status, 400);
  EXPECT_EQ(call("POST", "/api/v1/nodes", admin_, "{nope").status, 400);
  EXPECT_EQ(call("POST", "/api/v1/nodes", admin_, "").status, 400);

  links_.online = {id};
  Response list = call("GET", "/api/v1/nodes", admin_);
  ASSERT_EQ(list.status, 200);
  json items = json::parse(list.body);
  ASSERT_EQ(items["items"].size(), 1u);
  EXPECT_EQ(items["items"][0]["status"], "online");
  EXPECT_TRUE(items["next_cursor"].is_null());
  EXPECT_EQ(call("GET", "/api/v1/nodes/" + id, admin_).status, 200);
  EXPECT_EQ(call("GET", "/api/v1/nodes/nd_nope", admin_).status, 404);

  Response del = call("DELETE", "/api/v1/nodes/" + id, admin_);
  EXPECT_EQ(del.status, 204);
  EXPECT_TRUE(del.body.empty());
  ASSERT_EQ(links_.dropped.size(), 1u);
  EXPECT_EQ(links_.dropped[0], id);
  EXPECT_EQ(call("DELETE", "/api/v1/nodes/" + id, admin_).status, 404);
}

TEST_F(ApiTest, UsersAndTokens) {
  Response r = call("POST", "/api/v1/users", admin_, R"({"name":"bob","role":"user"})");
  ASSERT_EQ(r.status, 201) << r.body;
  json u = json::parse(r.body)["user"];
  EXPECT_EQ(u["role"], "user");
  EXPECT_TRUE(u["created_at"].get<std::string>().ends_with("Z"));
  EXPECT_EQ(call("POST", "/api/v1/users", admin_, R"({"name":"bob","role":"user"})").status, 409);
  EXPECT_EQ(call("POST", "/api/v1/users", admin_, R"({"name":"eve","role":"root"})").status, 400);
  Response t = call("POST", "/api/v1/users/" + u["id"].get<std::string>() + "/tokens", admin_);
  ASSERT_EQ(t.status, 201);
  std::string token = json::parse(t.body)["token"];
  EXPECT_EQ(call("GET", "/api/v1/nodes", token).status, 403);  // a valid user token, wrong role
  EXPECT_EQ(call("POST", "/api/v1/users/usr_nope/tokens", admin_).status, 404);
}

TEST_F(ApiTest, JobsAreDispatchedAndAnsweredLater) {
  Response created = call("POST", "/api/v1/nodes", admin_, R"({"name":"n1"})");
  std::string id = json::parse(created.body)["node"]["id"];
  std::string path = "/api/v1/nodes/" + id + "/jobs";
  Request req;
  req.method = "POST";
  req.path = path;
  req.headers["authorization"] = "Bearer " + admin_;
  req.body = R"({"kind":"system.echo","job_id":"j1","params":{"a":1},"timeout_s":5})";
  std::optional<Response> out;
  api_->handle(req, [&](Response r) { out = std::move(r); });
  EXPECT_FALSE(out.has_value());  // waiting for the agent
  EXPECT_EQ(links_.last.job_id, "j1");
  EXPECT_EQ(links_.last.kind, "system.echo");
  EXPECT_EQ(links_.last.timeout, std::chrono::seconds(5));
  EXPECT_EQ(links_.last.params["a"], 1);
  links_.pending(gateway::JobOutcome{"j1", {{"ok", true}}, true});
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->status, 200);
  EXPECT_EQ(json::parse(out->body), json::parse(R"({"job_id":"j1","result":{"ok":true},"redelivered":true})"));

  out.reset();
  req.body = R"({"kind":"x"})";
  api_->handle(req, [&](Response r) { out = std::move(r); });
  EXPECT_EQ(links_.last.job_id.substr(0, 4), "job_");
  EXPECT_EQ(links_.last.timeout, std::chrono::seconds(60));
  links_.pending(proto::makeError(proto::ErrorCode::kFailedPrecondition, "not now"));
  EXPECT_EQ(out->status, 422);
  EXPECT_EQ(json::parse(out->body)["error"]["code"], "failed_precondition");

  EXPECT_EQ(call("POST", path, admin_, R"({"params":{}})").status, 400);
  EXPECT_EQ(call("POST", path, admin_, R"({"kind":"x","timeout_s":0})").status, 400);
  EXPECT_EQ(call("POST", path, admin_, R"({"kind":"x","params":[1]})").status, 400);
  EXPECT_EQ(call("POST", "/api/v1/nodes/nd_nope/jobs", admin_, R"({"kind":"x"})").status, 404);
}

TEST_F(ApiTest, RequestsAreCountedByRouteTemplate) {
  call("GET", "/api/v1/nodes/nd_x", admin_);
  call("GET", "/no/such/thing", admin_);
  call("PATCH", "/api/v1/nodes", admin_);
  EXPECT_EQ(metrics_.value("zlh_http_requests_total", {"/api/v1/nodes/{id}", "404"}), 1);
  EXPECT_EQ(metrics_.value("zlh_http_requests_total", {"other", "404"}), 1);
  EXPECT_EQ(metrics_.value("zlh_http_requests_total", {"other", "405"}), 1);
  EXPECT_EQ(metrics_.value("zlh_http_requests_total", {"/api/v1/nodes", "405"}), 0);
}

}  // namespace
}  // namespace zlh::coordinator::api
