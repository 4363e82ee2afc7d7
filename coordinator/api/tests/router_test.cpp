#include "coordinator/api/router.h"

#include "proto/v1/result.h"

#include <gtest/gtest.h>

namespace zlh::coordinator::api {
namespace {

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto h = [this](const std::string& tag) {
      return [this, tag](const Request&, const Params& p, Responder done) {
        hit_ = tag;
        params_ = p;
        done(jsonResponse(200, {{"tag", tag}}));
      };
    };
    router_.add("GET", "/api/v1/nodes", h("list"));
    router_.add("POST", "/api/v1/nodes", h("create"));
    router_.add("GET", "/api/v1/nodes/{id}", h("get"));
    router_.add("DELETE", "/api/v1/nodes/{id}", h("delete"));
    router_.add("POST", "/api/v1/nodes/{id}/jobs", h("jobs"));
  }
  Response run(const std::string& method, const std::string& path, std::string* route = nullptr) {
    Response out;
    Request req;
    req.method = method;
    req.path = path;
    std::string r = router_.dispatch(req, [&](Response resp) { out = std::move(resp); });
    if (route) *route = r;
    return out;
  }
  Router router_;
  std::string hit_;
  Params params_;
};

TEST_F(RouterTest, MatchesTemplatesAndExtractsParams) {
  std::string route;
  EXPECT_EQ(run("GET", "/api/v1/nodes/nd_42", &route).status, 200);
  EXPECT_EQ(hit_, "get");
  EXPECT_EQ(params_.at("id"), "nd_42");
  EXPECT_EQ(route, "/api/v1/nodes/{id}");
  EXPECT_EQ(run("POST", "/api/v1/nodes/nd_1/jobs").status, 200);
  EXPECT_EQ(hit_, "jobs");
  EXPECT_EQ(run("POST", "/api/v1/nodes").status, 200);
  EXPECT_EQ(hit_, "create");
}

TEST_F(RouterTest, UnknownPathIs404WithJsonError) {
  std::string route;
  Response r = run("GET", "/api/v1/nope", &route);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(route, "other");
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["error"]["code"], "not_found");
  EXPECT_TRUE(j["error"]["message"].is_string());
  EXPECT_EQ(run("GET", "/api/v1/nodes/").status, 404);    // trailing slash
  EXPECT_EQ(run("GET", "/api/v1//nodes").status, 404);    // doubled slash
  EXPECT_EQ(run("GET", "/api/v1/nodes/a/b").status, 404);  // too deep
  EXPECT_EQ(run("GET", "").status, 404);
}

TEST_F(RouterTest, KnownPathOtherMethodIs405WithAllow) {
  std::string route;
  Response r = run("PUT", "/api/v1/nodes/nd_1", &route);
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(route, "/api/v1/nodes/{id}");
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["code"], "method_not_allowed");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Allow");
  EXPECT_EQ(r.headers[0].second, "GET, DELETE");
  EXPECT_EQ(run("DELETE", "/api/v1/nodes").status, 405);
}

TEST(HttpErrors, ProtoCodesMapToStatus) {
  Response r = errorResponse(proto::makeError(proto::ErrorCode::kConflict, "taken"));
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.body, R"({"error":{"code":"conflict","message":"taken"}})");
  EXPECT_EQ(errorResponse(proto::makeError(proto::ErrorCode::kDeadlineExceeded, "x")).status, 504);
  EXPECT_EQ(errorResponse(proto::makeError(proto::ErrorCode::kUnavailable, "x")).status, 503);
}

}  // namespace
}  // namespace zlh::coordinator::api
