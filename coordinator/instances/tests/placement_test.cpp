#include "coordinator/instances/placement.h"

#include <gtest/gtest.h>

#include "coordinator/instances/tests/fake_links.h"
#include "coordinator/instances/tests/test_db.h"

namespace zlh::coordinator::instances {
namespace {
using proto::ErrorCode;

TEST(Placement, RequestedNodeMustExistButNeedNotBeOnline) {
  testing::TestDb db;
  testing::FakeLinks links;
  std::string n = db.addNode("n1");
  EXPECT_EQ(*chooseNode(*db.store, links, n, common::now()), n);
  auto missing = chooseNode(*db.store, links, std::string("nd_nope"), common::now());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kInvalidArgument);
}

TEST(Placement, NoOnlineNodeIsAConflictWithAReason) {
  testing::TestDb db;
  testing::FakeLinks links;
  auto none = chooseNode(*db.store, links, std::nullopt, common::now());
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::kConflict);
  EXPECT_NE(none.error().message.find("no node is online"), std::string::npos);
  links.online.insert(db.addNode("bare", /*lifecycle=*/false));
  auto bare = chooseNode(*db.store, links, std::nullopt, common::now());
  ASSERT_FALSE(bare.ok());
  EXPECT_NE(bare.error().message.find("lifecycle"), std::string::npos);
}

TEST(Placement, FewestInstancesAmongOnlineNodesWins) {
  testing::TestDb db;
  testing::FakeLinks links;
  std::string a = db.addNode("a"), b = db.addNode("b"), c = db.addNode("c");
  links.online = {a, b};
  EXPECT_EQ(*chooseNode(*db.store, links, std::nullopt, common::now()), a);  // tie: by name
  db.createInstance(a, "k1");
  EXPECT_EQ(*chooseNode(*db.store, links, std::nullopt, common::now()), b);
  db.createInstance(b, "k2");
  db.createInstance(b, "k3");
  // c has none but is offline.
  EXPECT_EQ(*chooseNode(*db.store, links, std::nullopt, common::now()), a);
  (void)c;
}

// Several coordinators: a node linked to another one (its link lease in the store) takes new
// instances here too; the job is queued here and claimed where the link is.
TEST(Placement, ANodeLinkedToAnotherCoordinatorIsOnline) {
  testing::TestDb db;
  testing::FakeLinks links;  // this coordinator holds no link
  std::string a = db.addNode("a"), b = db.addNode("b");
  auto now = common::now();
  ASSERT_TRUE(db.store->holdNodeLinks("co_other", {b}, now + std::chrono::seconds(10)).ok());
  EXPECT_EQ(*chooseNode(*db.store, links, std::nullopt, now), b);
  EXPECT_TRUE(nodeOnline(*db.store->getNode(b), links, now));
  EXPECT_FALSE(nodeOnline(*db.store->getNode(a), links, now));
  // The lease expired (that coordinator died): offline again.
  auto later = now + std::chrono::seconds(11);
  EXPECT_FALSE(nodeOnline(*db.store->getNode(b), links, later));
  auto none = chooseNode(*db.store, links, std::nullopt, later);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::kConflict);
  // Released when the link closed there.
  ASSERT_TRUE(db.store->releaseNodeLink(b, "co_other").ok());
  EXPECT_FALSE(nodeOnline(*db.store->getNode(b), links, now));
}

}  // namespace
}  // namespace zlh::coordinator::instances
