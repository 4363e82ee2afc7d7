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
  EXPECT_EQ(*chooseNode(*db.store, links, n), n);
  auto missing = chooseNode(*db.store, links, std::string("nd_nope"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kInvalidArgument);
}

TEST(Placement, NoOnlineNodeIsAConflictWithAReason) {
  testing::TestDb db;
  testing::FakeLinks links;
  auto none = chooseNode(*db.store, links, std::nullopt);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::kConflict);
  EXPECT_NE(none.error().message.find("no node is online"), std::string::npos);
  links.online.insert(db.addNode("bare", /*lifecycle=*/false));
  auto bare = chooseNode(*db.store, links, std::nullopt);
  ASSERT_FALSE(bare.ok());
  EXPECT_NE(bare.error().message.find("lifecycle"), std::string::npos);
}

TEST(Placement, FewestInstancesAmongOnlineNodesWins) {
  testing::TestDb db;
  testing::FakeLinks links;
  std::string a = db.addNode("a"), b = db.addNode("b"), c = db.addNode("c");
  links.online = {a, b};
  EXPECT_EQ(*chooseNode(*db.store, links, std::nullopt), a);  // tie: by name
  db.createInstance(a, "k1");
  EXPECT_EQ(*chooseNode(*db.store, links, std::nullopt), b);
  db.createInstance(b, "k2");
  db.createInstance(b, "k3");
  EXPECT_EQ(*chooseNode(*db.store, links, std::nullopt), a);  // c has none but is offline
  (void)c;
}

}  // namespace
}  // namespace zlh::coordinator::instances
