#pragma once
// Fixture of the instance route tests: the real store, the QueueWorker and a fake gateway.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>

#include "coordinator/store/tests/temp_store.h"
#include "coordinator/api/api_service.h"
#include "coordinator/common/tokens.h"
#include "coordinator/gateway/tests/fakes.h"
#include "coordinator/instances/queue_worker.h"
#include "coordinator/instances/tests/fake_links.h"

namespace zlh::coordinator::api::testing {
using nlohmann::json;

class InstancesApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    admin_ = makeToken("admin", store::Role::kAdmin);
    alice_ = makeToken("alice", store::Role::kUser);
    bob_ = makeToken("bob", store::Role::kUser);
    metrics_token_ = makeToken("prom", store::Role::kMetrics);
    instances::QueueOptions q;
    q.owner = "co_test";
    dispatcher_ = std::make_unique<instances::QueueWorker>(*store_, links_, executor_, metrics_, q);
    dispatcher_->resume();
    api_ = std::make_unique<ApiService>(*store_, metrics_, links_, *dispatcher_, ApiOptions{});
    node_ = addNode("n1", true);
  }
  void TearDown() override {
    api_.reset();
    dispatcher_.reset();
  }
  std::string makeToken(const std::string& name, store::Role role) {
    std::string t = common::newToken();
    auto u = store_->createUserWithToken({name, role}, common::hashToken(t));
    EXPECT_TRUE(u.ok());
    user_ids_[t] = u->first.id;
    return t;
  }
  std::string addNode(const std::string& name, bool online) {
    auto n = store_->createNodeWithToken(name, common::sha256Hex(name));
    json plugins = json::array(
        {{{"name", "lifecycle"}, {"state", "running"}, {"job_kinds", {"lifecycle.create"}}}});
    json capacity = {
        {"cpus", 4}, {"memory_bytes", int64_t{1} << 40}, {"disk_bytes", int64_t{1} << 44}};
    EXPECT_TRUE(store_->recordHello(n->first.id, {common::now(), "1", capacity, "", plugins}).ok());
    if (online) {
      links_.online.insert(n->first.id);
      dispatcher_->onNodeReady(n->first.id);
    }
    return n->first.id;
  }
  /// Every node's link drops.
  void goOffline() {
    for (const auto& n : links_.online) dispatcher_->onNodeGone(n);
    links_.online.clear();
  }
  Response call(const std::string& method, const std::string& path, const std::string& token,
                const std::string& body = "", const std::string& key = "") {
    Request req;
    req.method = method;
    req.path = path;
    req.body = body;
    if (!token.empty()) req.headers["authorization"] = "Bearer " + token;
    if (!key.empty()) req.headers["idempotency-key"] = key;
    Response out;
    out.status = 0;
    api_->handle(req, [&](Response r) { out = std::move(r); });
    return out;
  }
  Response create(const std::string& token, const std::string& key,
                  const std::string& body = R"({"name":"My Server","template":"test"})") {
    return call("POST", "/api/v1/instances", token, body, key);
  }
  /// Creates and lets the agent answer the create job with `state`.
  json createdAndAnswered(const std::string& token, const std::string& key,
                          const std::string& state = "running") {
    Response r = create(token, key);
    EXPECT_EQ(r.status, 202) << r.body;
    json b = json::parse(r.body);
    std::string id = b["instance"]["id"];
    links_.sent.back().done(gateway::JobOutcome{
        "",
        {{"instance",
          {{"id", id}, {"state", state}, {"state_version", 2}, {"address", "1.2.3.4:25565"}}}},
        false});
    return b;
  }
  static std::string code(const Response& r) { return json::parse(r.body)["error"]["code"]; }
  static std::string message(const Response& r) { return json::parse(r.body)["error"]["message"]; }
  static std::set<std::string> keys(const json& j) {
    std::set<std::string> out;
    for (const auto& [k, _] : j.items()) out.insert(k);
    return out;
  }

  store::testing::TempStore tmp_{"zlh-api-inst"};
  std::unique_ptr<store::Store>& store_ = tmp_.store;
  std::string node_;
  common::Metrics metrics_{"test"};
  instances::testing::FakeLinks links_;
  gateway::testing::ManualExecutor executor_;
  std::unique_ptr<instances::QueueWorker> dispatcher_;
  std::unique_ptr<ApiService> api_;
  std::string admin_, alice_, bob_, metrics_token_;
  std::map<std::string, std::string> user_ids_;
};

}  // namespace zlh::coordinator::api::testing
