// Placement as the API drives it: candidates from the links (placementFor), the choice and the
// reservation in the store's createInstance (docs/placement.md).
#include "coordinator/instances/placement.h"

#include <gtest/gtest.h>

#include <set>

#include "coordinator/instances/tests/fake_links.h"
#include "coordinator/instances/tests/test_db.h"

namespace zlh::coordinator::instances {
namespace {
using nlohmann::json;
using proto::ErrorCode;
using testing::TestDb;

class PlacementTest : public ::testing::Test {
 protected:
  /// A create placed the way the API places it; the node it went to, or the error.
  proto::Result<std::string> place(const json& resources = json::object(),
                                   const std::optional<std::string>& node = std::nullopt) {
    auto placement = placementFor(*db.store, links, node, limits);
    if (!placement) return placement.error();
    store::NewInstance n;
    n.name = "srv";
    n.owner_id = db.user;
    n.template_name = "test";
    n.requested_by = db.user;
    n.resources = resources;
    n.placement = *placement;
    auto r = db.store->createInstance(n, {db.user, "k" + std::to_string(++keys_), "h"});
    if (!r) return r.error();
    EXPECT_TRUE(r->instance);
    return r->instance->node_id;
  }
  std::string online(const std::string& name, int64_t memory_mb, int64_t disk_mb = 100000) {
    std::string id = db.addNode(name, true, TestDb::capacityMb(memory_mb, disk_mb));
    links.online.insert(id);
    return id;
  }

  TestDb db;
  testing::FakeLinks links;
  store::PlacementLimits limits;
  int keys_ = 0;
};

TEST_F(PlacementTest, RequestedNodeMustExistButNeedNotBeOnline) {
  std::string n = db.addNode("n1");
  auto p = placementFor(*db.store, links, n, limits);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->requested);
  EXPECT_EQ(p->candidates, std::vector<std::string>{n});
  EXPECT_EQ(*place({}, n), n);  // offline: its operation waits for it
  auto missing = placementFor(*db.store, links, std::string("nd_nope"), limits);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(PlacementTest, NoOnlineNodeIsAConflictWithAReason) {
  auto none = placementFor(*db.store, links, std::nullopt, limits);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::kConflict);
  EXPECT_NE(none.error().message.find("no node is online"), std::string::npos);
  links.online.insert(db.addNode("bare", /*lifecycle=*/false));
  auto bare = placementFor(*db.store, links, std::nullopt, limits);
  ASSERT_FALSE(bare.ok());
  EXPECT_EQ(bare.error().code, ErrorCode::kConflict);
  EXPECT_NE(bare.error().message.find("lifecycle"), std::string::npos);
}

TEST_F(PlacementTest, CandidatesAreTheOnlineNodesRunningLifecycle) {
  std::string a = online("a", 1024), b = online("b", 1024);
  db.addNode("offline");
  links.online.insert(db.addNode("bare", /*lifecycle=*/false));
  auto p = placementFor(*db.store, links, std::nullopt, limits);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->requested);
  EXPECT_EQ(p->candidates, (std::vector<std::string>{a, b}));
}

TEST_F(PlacementTest, MostMemoryFreeWinsTiesByNameUntilNothingFits) {
  // big offers 4096 MB, small 2048 MB; each instance takes 1024 MB.
  std::string big = online("big", 4096), small = online("small", 2048);
  json gb = {{"memory_mb", 1024}, {"disk_mb", 100}};
  std::vector<std::string> got;
  for (int i = 0; i < 6; ++i) {
    auto n = place(gb);
    ASSERT_TRUE(n.ok()) << i << ": " << n.error().message;
    got.push_back(*n);
  }
  // free (big, small): 4096/2048 -> big; 3072/2048 -> big; 2048/2048 tie -> big (by name);
  // 1024/2048 -> small; 1024/1024 tie -> big; 0/1024 -> small.
  EXPECT_EQ(got, (std::vector<std::string>{big, big, big, small, big, small}));
  auto full = place(gb);
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code, ErrorCode::kConflict);
  EXPECT_EQ(full.error().message,
            "no online node can take the instance (1024 MB memory, 100 MB disk): big (" + big +
                "): 0 MB memory free; small (" + small + "): 0 MB memory free");
  // A smaller instance still fits nowhere: memory is all reserved.
  EXPECT_FALSE(place({{"memory_mb", 1}}).ok());
}

TEST_F(PlacementTest, AnExplicitNodeIsHonouredButMustFit) {
  online("big", 8192);
  std::string small = online("small", 1024);
  EXPECT_EQ(*place({{"memory_mb", 1024}}, small), small);  // not the one with most room
  auto full = place({{"memory_mb", 512}}, small);
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code, ErrorCode::kConflict);
  EXPECT_EQ(full.error().message, "node small (" + small +
                                      ") cannot take the instance (512 MB memory, 5120 MB "
                                      "disk): 0 MB memory free");
}

TEST_F(PlacementTest, DefaultsDiskAndInstanceCountLimit) {
  limits.default_memory_mb = 256;
  limits.default_disk_mb = 1000;
  limits.max_instances_per_node = 3;
  std::string n = online("n", 100000, 2500);
  EXPECT_EQ(*place(), n);
  EXPECT_EQ(*place(), n);
  auto disk = place();  // 2000 MB disk reserved of 2500
  ASSERT_FALSE(disk.ok());
  EXPECT_NE(disk.error().message.find("500 MB disk free"), std::string::npos)
      << disk.error().message;
  EXPECT_EQ(*place({{"disk_mb", 500}}), n);
  auto count = place({{"disk_mb", 1}});
  ASSERT_FALSE(count.ok());
  EXPECT_NE(count.error().message.find("holds 3 instances, the most a node takes"),
            std::string::npos)
      << count.error().message;
  // What each instance reserved is written on it.
  auto on = db.store->listInstancesOnNode(n);
  ASSERT_TRUE(on.ok());
  std::multiset<std::string> reserved;
  for (const auto& i : *on) reserved.insert(i.resources.dump());
  EXPECT_EQ(reserved, (std::multiset<std::string>{R"({"disk_mb":1000,"memory_mb":256})",
                                                  R"({"disk_mb":1000,"memory_mb":256})",
                                                  R"({"disk_mb":500,"memory_mb":256})"}));
}

TEST_F(PlacementTest, OvercommitStretchesMemoryOnly) {
  limits.memory_overcommit_pct = 200;
  std::string n = online("n", 1024, 3000);
  EXPECT_EQ(*place({{"memory_mb", 1024}, {"disk_mb", 1000}}), n);
  EXPECT_EQ(*place({{"memory_mb", 1024}, {"disk_mb", 1000}}), n);
  EXPECT_FALSE(place({{"memory_mb", 1}, {"disk_mb", 1}}).ok());  // 2048 MB offered, all taken
}

TEST_F(PlacementTest, ANodeWithoutCapacityTakesNothingEvenWhenNamed) {
  std::string quiet = db.addNode("quiet", true, json::object());  // hello without capacity
  links.online.insert(quiet);
  auto any = place();
  ASSERT_FALSE(any.ok());
  EXPECT_NE(any.error().message.find("has not reported its capacity"), std::string::npos)
      << any.error().message;
  auto named = place({}, quiet);
  ASSERT_FALSE(named.ok());
  EXPECT_EQ(named.error().code, ErrorCode::kConflict);
  EXPECT_NE(named.error().message.find("has not reported its capacity"), std::string::npos);
  std::string zero = db.addNode("zero", true, TestDb::capacityMb(0, 0));  // could not measure
  EXPECT_FALSE(place({}, zero).ok());
}

TEST_F(PlacementTest, ANodeLinkedToAnotherCoordinatorIsOnline) {
  std::string b = db.addNode("b");
  auto now = common::now();  // this coordinator holds no link
  ASSERT_TRUE(db.store->holdNodeLinks("co_other", {b}, now + std::chrono::seconds(10)).ok());
  auto p = placementFor(*db.store, links, std::nullopt, limits, now);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->candidates, std::vector<std::string>{b});
  EXPECT_TRUE(nodeOnline(*db.store->getNode(b), links, now));
  // The lease expired (that coordinator died): offline again.
  auto later = now + std::chrono::seconds(11);
  EXPECT_FALSE(nodeOnline(*db.store->getNode(b), links, later));
  EXPECT_EQ(placementFor(*db.store, links, std::nullopt, limits, later).error().code,
            ErrorCode::kConflict);
  // Released when the link closed there.
  ASSERT_TRUE(db.store->releaseNodeLink(b, "co_other").ok());
  EXPECT_FALSE(nodeOnline(*db.store->getNode(b), links, now));
}

}  // namespace
}  // namespace zlh::coordinator::instances
