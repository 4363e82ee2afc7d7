// The placement rules themselves (store/placement.h), without a database.
#include "coordinator/store/placement.h"

#include <gtest/gtest.h>

namespace zlh::coordinator::store {
namespace {
using nlohmann::json;
using proto::ErrorCode;

std::string capacity(int64_t memory_mb, int64_t disk_mb) {
  return json{{"cpus", 2}, {"memory_bytes", memory_mb << 20}, {"disk_bytes", disk_mb << 20}}.dump();
}

Placement anyOf(std::vector<std::string> ids, PlacementLimits limits = {}) {
  return {std::move(ids), false, limits};
}

TEST(PlacementPolicy, ReservationTakesTheRequestThenTheDefaults) {
  PlacementLimits l;
  l.default_memory_mb = 700;
  l.default_disk_mb = 900;
  auto r = reservationOf(json::object(), l);
  EXPECT_EQ(r.memory_mb, 700);
  EXPECT_EQ(r.disk_mb, 900);
  r = reservationOf({{"memory_mb", 64}, {"cpu_pct", 50}}, l);
  EXPECT_EQ(r.memory_mb, 64);
  EXPECT_EQ(r.disk_mb, 900);
  // Rows written before placement, or odd values, reserve the defaults.
  r = reservationOf({{"memory_mb", "lots"}, {"disk_mb", -5}}, l);
  EXPECT_EQ(r.memory_mb, 700);
  EXPECT_EQ(r.disk_mb, 900);
  EXPECT_EQ(reservationOf(json(nullptr), l).memory_mb, 700);
}

TEST(PlacementPolicy, CapacityMustReportMemoryAndDisk) {
  PlacementLimits l;
  l.memory_overcommit_pct = 150;
  NodeLoads loads(l);
  loads.addNode("nd_ok", "ok", capacity(2048, 4096));
  loads.addNode("nd_never", "never", std::nullopt);  // no hello yet
  loads.addNode("nd_empty", "empty", "{}");
  loads.addNode("nd_zero", "zero", capacity(0, 4096));  // the agent could not measure memory
  loads.addNode("nd_text", "text", R"({"memory_bytes":"1","disk_bytes":"1"})");
  loads.addNode("nd_junk", "junk", "not json");
  loads.addNode("nd_huge", "huge", R"({"memory_bytes":18446744073709551615,"disk_bytes":1048576})");
  const auto& v = loads.loads();
  ASSERT_EQ(v.size(), 7u);
  ASSERT_TRUE(v[0].offered);
  EXPECT_EQ(v[0].offered->memory_mb, 3072);  // 2048 * 150%
  EXPECT_EQ(v[0].offered->disk_mb, 4096);    // disk is never overcommitted
  for (size_t i = 1; i < 6; ++i) EXPECT_FALSE(v[i].offered) << v[i].name;
  ASSERT_TRUE(v[6].offered);
  EXPECT_GT(v[6].offered->memory_mb, int64_t{1} << 40);
}

TEST(PlacementPolicy, InstancesAddUpOnTheirNodeOnly) {
  PlacementLimits l;
  NodeLoads loads(l);
  loads.addNode("nd_a", "a", capacity(8192, 8192));
  // Three rows: 512/100, 300 memory with no disk, none set (defaults: 1024 MB, 5120 MB).
  loads.addInstances("nd_a", 3, {812, 100}, 1, 2);
  loads.addInstances("nd_other", 1, {512, 0}, 0, 1);
  const NodeLoad& a = loads.loads().at(0);
  EXPECT_EQ(a.instances, 3);
  EXPECT_EQ(a.reserved.memory_mb, 812 + 1024);
  EXPECT_EQ(a.reserved.disk_mb, 100 + 2 * 5120);
}

TEST(PlacementPolicy, OnlyAPositiveIntegerIsAReservedColumn) {
  EXPECT_EQ(reservedColumn(json{{"memory_mb", 512}}, "memory_mb"), 512);
  EXPECT_EQ(reservedColumn(json{{"memory_mb", 512u}}, "memory_mb"), 512);
  for (const json& r : {json::object(), json{{"memory_mb", 0}}, json{{"memory_mb", -5}},
                        json{{"memory_mb", 1.5}}, json{{"memory_mb", "512"}}, json::array(),
                        json(nullptr), json{{"disk_mb", 5}}})
    EXPECT_EQ(reservedColumn(r, "memory_mb"), std::nullopt) << r.dump();
  PlacementLimits l;
  Reservation d = reservationOf(json{{"disk_mb", 7}}, l);
  EXPECT_EQ(d.memory_mb, l.default_memory_mb);
  EXPECT_EQ(d.disk_mb, 7);
}

TEST(PlacementPolicy, FitIsReservedPlusDemandWithinOffered) {
  NodeLoads loads(PlacementLimits{});
  loads.addNode("nd_a", "a", capacity(2048, 2048));
  loads.addInstances("nd_a", 1, {1024, 1024}, 0, 0);
  EXPECT_EQ(*pickNode(anyOf({"nd_a"}), {1024, 1024}, loads.loads()), "nd_a");  // exactly full
  auto over = pickNode(anyOf({"nd_a"}), {1025, 1024}, loads.loads());
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, ErrorCode::kConflict);
  EXPECT_EQ(over.error().message,
            "no online node can take the instance (1025 MB memory, 1024 MB disk): a (nd_a): 1024 "
            "MB memory free");
  auto both = pickNode(anyOf({"nd_a"}), {2000, 2000}, loads.loads());
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.error().message.find("a (nd_a): 1024 MB memory free, 1024 MB disk free"),
            std::string::npos)
      << both.error().message;
}

TEST(PlacementPolicy, MostMemoryFreeThenNameThenId) {
  NodeLoads loads(PlacementLimits{});
  loads.addNode("nd_2", "b", capacity(4096, 9999));
  loads.addNode("nd_1", "c", capacity(4096, 9999));
  loads.addNode("nd_3", "a", capacity(2048, 9999));
  Reservation small{100, 100};
  EXPECT_EQ(*pickNode(anyOf({}), small, loads.loads()), "nd_2");  // b and c tie on memory: b
  loads.addInstances("nd_2", 1, {3000, 1}, 0, 0);
  EXPECT_EQ(*pickNode(anyOf({}), small, loads.loads()), "nd_1");
  // More disk free does not matter; memory decides.
  NodeLoads same(PlacementLimits{});
  same.addNode("nd_y", "twin", capacity(1024, 100));
  same.addNode("nd_x", "twin", capacity(1024, 9999));
  EXPECT_EQ(*pickNode(anyOf({}), small, same.loads()), "nd_x");  // same name: by id
}

TEST(PlacementPolicy, ARefusalListsEveryNodeUpToALimit) {
  PlacementLimits l;
  l.max_instances_per_node = 1;
  NodeLoads loads(l);
  for (int i = 0; i < 11; ++i) {
    std::string id = "nd_" + std::to_string(i);
    loads.addNode(id, "node-" + std::string(1, char('a' + i)), capacity(100, 100));
    loads.addInstances(id, 1, {1, 1}, 0, 0);
  }
  auto r = pickNode(anyOf({}, l), {1, 1}, loads.loads());
  ASSERT_FALSE(r.ok());
  const std::string& m = r.error().message;
  EXPECT_EQ(m.rfind("no online node can take the instance (1 MB memory, 1 MB disk): node-a (nd_0): "
                    "holds 1 instances, the most a node takes; node-b (nd_1): ",
                    0),
            0u)
      << m;
  EXPECT_NE(m.find("node-h (nd_7)"), std::string::npos);
  EXPECT_EQ(m.find("node-i (nd_8)"), std::string::npos);
  EXPECT_EQ(m.substr(m.size() - 12), "; and 3 more");
}

TEST(PlacementPolicy, RequestedNodeAloneIsJudged) {
  NodeLoads loads(PlacementLimits{});
  loads.addNode("nd_a", "a", capacity(1024, 1024));
  Placement named{{"nd_a"}, true, {}};
  EXPECT_EQ(*pickNode(named, {1024, 1024}, loads.loads()), "nd_a");
  auto no = pickNode(named, {2048, 1024}, loads.loads());
  ASSERT_FALSE(no.ok());
  EXPECT_EQ(no.error().code, ErrorCode::kConflict);
  EXPECT_EQ(no.error().message,
            "node a (nd_a) cannot take the instance (2048 MB memory, 1024 MB disk): 1024 MB "
            "memory free");
  // Deleted between the API's check and the transaction: as if it never existed.
  auto gone = pickNode({{"nd_gone"}, true, {}}, {1, 1}, loads.loads());
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(gone.error().message, "node: no node nd_gone");
}

TEST(PlacementPolicy, PlacedInstanceKeepsWhatItReserves) {
  NodeLoads loads(PlacementLimits{});
  loads.addNode("nd_a", "a", capacity(4096, 8192));
  NewInstance in;
  in.node_id = "nd_ignored";
  in.resources = {{"cpu_pct", 50}, {"memory_mb", 512}};
  in.placement = Placement{{"nd_a"}, false, {}};
  auto out = placedInstance(in, loads.loads());
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->node_id, "nd_a");
  EXPECT_EQ(out->resources, json({{"cpu_pct", 50}, {"memory_mb", 512}, {"disk_mb", 5120}}));
  // Without a placement the node is taken as given (no capacity check).
  in.placement.reset();
  EXPECT_EQ(placedInstance(in, {})->node_id, "nd_ignored");
}

}  // namespace
}  // namespace zlh::coordinator::store
