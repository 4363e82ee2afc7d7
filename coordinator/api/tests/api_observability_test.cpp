// GET /healthz, /metrics and /api/v1/sd/agents through the real router, auth and store.
#include <zlib.h>

#include "coordinator/api/tests/instances_fixture.h"

namespace zlh::coordinator::api {
namespace {
using nlohmann::json;
using testing::InstancesApiTest;

class ObservabilityTest : public InstancesApiTest {
 protected:
  /// A node whose last hello advertised `metrics_url` (empty: never advertised one).
  std::string nodeWithMetrics(const std::string& name, const std::string& metrics_url) {
    auto n = store_->createNodeWithToken(name, common::sha256Hex(name));
    EXPECT_TRUE(n.ok());
    if (!metrics_url.empty()) {
      store::NodeHello hello{common::now(), "1", json::object(), metrics_url, json::array()};
      EXPECT_TRUE(store_->recordHello(n->first.id, hello).ok());
    }
    return n->first.id;
  }
  /// An instance.create on the fixture's node while it is offline: the operation waits.
  int createWaiting() {
    return create(alice_, "k1", R"({"name":"s","template":"test","node":")" + node_ + R"("})").status;
  }
  Response get(const std::string& path, const std::string& token,
               const std::string& accept_encoding = "") {
    Request req;
    req.method = "GET";
    req.path = path;
    if (!token.empty()) req.headers["authorization"] = "Bearer " + token;
    if (!accept_encoding.empty()) req.headers["accept-encoding"] = accept_encoding;
    Response out;
    out.status = 0;
    api_->handle(req, [&](Response r) { out = std::move(r); });
    return out;
  }
  static std::string header(const Response& r, const std::string& name) {
    for (const auto& [n, v] : r.headers)
      if (n == name) return v;
    return "";
  }
};

TEST_F(ObservabilityTest, SdListsAgentsThatAdvertisedMetrics) {
  std::string a = nodeWithMetrics("alpha", "http://10.0.0.5:7421/metrics");
  std::string b = nodeWithMetrics("beta", "https://[2001:db8::1]:9443/agent/metrics");
  nodeWithMetrics("never-connected", "");
  nodeWithMetrics("odd", "http://user:pw@10.0.0.9:7421/metrics");  // left out, never echoed
  nodeWithMetrics("query", "http://10.0.0.9:7421/metrics?x=1");
  Response r = get("/api/v1/sd/agents", metrics_token_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body.find("pw@"), std::string::npos);
  json body = json::parse(r.body);
  // Nodes come in name order (the store's listing); "n1" of the fixture never advertised a URL.
  json expected = json::array(
      {{{"targets", {"10.0.0.5:7421"}},
        {"labels",
         {{"__scheme__", "http"}, {"__metrics_path__", "/metrics"}, {"zlh_node_id", a},
          {"zlh_node_name", "alpha"}}}},
       {{"targets", {"[2001:db8::1]:9443"}},
        {"labels",
         {{"__scheme__", "https"}, {"__metrics_path__", "/agent/metrics"}, {"zlh_node_id", b},
          {"zlh_node_name", "beta"}}}}});
  EXPECT_EQ(body, expected);
  EXPECT_EQ(get("/api/v1/sd/agents", admin_).status, 200);
}

TEST_F(ObservabilityTest, SdKeepsOfflineNodesAndDropsDeletedOnes) {
  std::string a = nodeWithMetrics("alpha", "http://10.0.0.5:7421/metrics");
  EXPECT_FALSE(links_.isOnline(a));  // offline: still a target, so up == 0 can alert
  EXPECT_EQ(json::parse(get("/api/v1/sd/agents", metrics_token_).body).size(), 1u);
  EXPECT_EQ(call("DELETE", "/api/v1/nodes/" + a, admin_).status, 204);
  Response r = get("/api/v1/sd/agents", metrics_token_);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "[]");
}

TEST_F(ObservabilityTest, SdNeedsAnAdminOrMetricsToken) {
  Response none = get("/api/v1/sd/agents", "");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(code(none), "unauthenticated");
  Response bad = get("/api/v1/sd/agents", common::newToken());
  EXPECT_EQ(bad.status, 401);
  EXPECT_EQ(code(bad), "unauthenticated");
  Response user = get("/api/v1/sd/agents", alice_);
  EXPECT_EQ(user.status, 403);
  EXPECT_EQ(code(user), "permission_denied");
  Response post = call("POST", "/api/v1/sd/agents", metrics_token_);
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(code(post), "method_not_allowed");
}

TEST_F(ObservabilityTest, HealthzReportsAgentsAndTheOperationBacklog) {
  json idle = json::parse(get("/healthz", "").body);
  EXPECT_EQ(idle["checks"]["operations"],
            json::parse(R"({"ok":true,"pending":0,"oldest_pending_age_seconds":0})"));
  goOffline();  // the create waits for its node
  ASSERT_EQ(createWaiting(), 202);
  Response r = get("/healthz", "");
  EXPECT_EQ(r.status, 200);
  json body = json::parse(r.body);
  EXPECT_EQ(body["status"], "ok");
  EXPECT_EQ(body["checks"]["db"]["ok"], true);
  EXPECT_EQ(body["checks"]["agents_online"], 0);
  EXPECT_EQ(body["checks"]["operations"]["pending"], 1);
  EXPECT_GE(body["checks"]["operations"]["oldest_pending_age_seconds"].get<double>(), 0);
}

TEST_F(ObservabilityTest, MetricsExportTheBacklogAndNodes) {
  goOffline();
  ASSERT_EQ(createWaiting(), 202);
  Response r = get("/metrics", metrics_token_);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(header(r, "Content-Encoding"), "");
  EXPECT_EQ(header(r, "Vary"), "Accept-Encoding");
  EXPECT_NE(r.body.find("# TYPE zlh_operations_oldest_age_seconds gauge\n"), std::string::npos);
  EXPECT_EQ(metrics_.value("zlh_operations", {"instance.create", "waiting"}), 1);
  EXPECT_GE(metrics_.value("zlh_operations_oldest_age_seconds", {"instance.create", "waiting"}), 0);
  EXPECT_NE(r.body.find("zlh_operations_oldest_age_seconds{kind=\"instance.power\",state=\"queued\"} 0\n"),
            std::string::npos);
  // Final states have no age series.
  EXPECT_EQ(r.body.find("zlh_operations_oldest_age_seconds{kind=\"instance.create\",state=\"failed\"}"),
            std::string::npos);
  EXPECT_EQ(metrics_.value("zlh_nodes"), 1);
}

TEST_F(ObservabilityTest, MetricsAreGzippedWhenTheClientAcceptsIt) {
  std::string plain = get("/metrics", metrics_token_).body;
  Response r = get("/metrics", metrics_token_, "gzip");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(header(r, "Content-Encoding"), "gzip");
  ASSERT_GT(r.body.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(r.body[0]), 0x1f);
  EXPECT_LT(r.body.size(), plain.size() / 3);
  // Inflated, it is the same exposition (the counter of this very request aside).
  std::string out(plain.size() * 2, '\0');
  z_stream z{};
  ASSERT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  z.next_in = reinterpret_cast<Bytef*>(r.body.data());
  z.avail_in = static_cast<uInt>(r.body.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  inflateEnd(&z);
  EXPECT_EQ(out.substr(0, 200), plain.substr(0, 200));
  EXPECT_NE(out.find("zlh_build_info{version=\"test\"} 1\n"), std::string::npos);
  EXPECT_EQ(header(get("/metrics", metrics_token_, "gzip;q=0, identity"), "Content-Encoding"), "");
}

TEST_F(ObservabilityTest, UnmatchedRequestsCountAsOther) {
  get("/api/v1/sd/agents", metrics_token_);
  get("/nope", metrics_token_);
  call("PUT", "/api/v1/sd/agents", metrics_token_);
  EXPECT_EQ(metrics_.value("zlh_http_requests_total", {"/api/v1/sd/agents", "200"}), 1);
  EXPECT_EQ(metrics_.value("zlh_http_requests_total", {"other", "404"}), 1);
  EXPECT_EQ(metrics_.value("zlh_http_requests_total", {"other", "405"}), 1);
  EXPECT_EQ(metrics_.value("zlh_http_requests_total", {"/api/v1/sd/agents", "405"}), 0);
}

}  // namespace
}  // namespace zlh::coordinator::api
