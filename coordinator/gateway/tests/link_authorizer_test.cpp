#include "coordinator/store/tests/temp_store.h"
#include "coordinator/gateway/link_authorizer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "coordinator/common/tokens.h"

namespace zlh::coordinator::gateway {
namespace {

class LinkAuthorizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_token_ = common::newToken();
    auto n = writer_->createNodeWithToken("n1", common::hashToken(node_token_));
    ASSERT_TRUE(n.ok());
    node_id_ = n->first.id;
    user_token_ = common::newToken();
    ASSERT_TRUE(writer_->createUserWithToken({"u", store::Role::kAdmin}, common::hashToken(user_token_)).ok());
    auto r = store::openStore(tmp_.url, {.read_only = true});
    ASSERT_TRUE(r.ok());
    auth_ = std::make_unique<LinkAuthorizer>(std::move(*r), metrics_);
  }
  void TearDown() override {
    auth_.reset();
  }
  double failures(const std::string& reason) {
    return metrics_.value("zlh_agent_link_auth_failures_total", {reason});
  }

  store::testing::TempStore tmp_{"zlh-auth-test"};
  std::unique_ptr<store::Store>& writer_ = tmp_.store;
  std::string node_token_, node_id_, user_token_;
  common::Metrics metrics_{"t"};
  std::unique_ptr<LinkAuthorizer> auth_;
};

TEST_F(LinkAuthorizerTest, AcceptsTheNodeToken) {
  LinkAuth a = auth_->authorize("Bearer " + node_token_, "peer");
  EXPECT_TRUE(a.ok);
  EXPECT_EQ(a.node_id, node_id_);
}

TEST_F(LinkAuthorizerTest, RefusalsAreCountedByReason) {
  EXPECT_FALSE(auth_->authorize("", "p").ok);
  EXPECT_EQ(failures("missing_token"), 1);
  EXPECT_FALSE(auth_->authorize("Basic abc", "p").ok);
  EXPECT_EQ(failures("missing_token"), 2);
  LinkAuth bad = auth_->authorize("Bearer " + common::newToken(), "p");
  EXPECT_FALSE(bad.ok);
  EXPECT_EQ(bad.http_status, 401);
  EXPECT_EQ(failures("bad_token"), 1);
  EXPECT_FALSE(auth_->authorize("Bearer garbage", "p").ok);
  EXPECT_FALSE(auth_->authorize("Bearer " + user_token_, "p").ok);  // a user token is not a node's
  EXPECT_EQ(failures("bad_token"), 3);
  ASSERT_TRUE(writer_->deleteNode(node_id_).ok());
  LinkAuth revoked = auth_->authorize("Bearer " + node_token_, "p");
  EXPECT_FALSE(revoked.ok);
  EXPECT_EQ(failures("revoked"), 1);
}

}  // namespace
}  // namespace zlh::coordinator::gateway
