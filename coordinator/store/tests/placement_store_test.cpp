// Placement inside createInstance's transaction, on both engines: the choice, the refusal, the
// reservation and its release, and concurrent creates that must not overfill a node.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "coordinator/common/tokens.h"
#include "coordinator/store/store.h"
#include "coordinator/store/tests/engine_store.h"

namespace zlh::coordinator::store {
namespace {
using nlohmann::json;
using proto::ErrorCode;
using testing::Engine;

class PlacementStoreTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    ZLH_REQUIRE_ENGINE(tmp_);
    alice_ = store_->createUser({"alice", Role::kUser})->id;
  }
  /// A node whose hello reported this much memory and disk (MB).
  std::string node(const std::string& name, int64_t memory_mb, int64_t disk_mb = 100000) {
    auto n = store_->createNodeWithToken(name, common::sha256Hex(name));
    EXPECT_TRUE(n.ok());
    json capacity = {{"cpus", 2}, {"memory_bytes", memory_mb << 20}, {"disk_bytes", disk_mb << 20}};
    EXPECT_TRUE(
        store_->recordHello(n->first.id, {common::now(), "1", capacity, "", json::array()}).ok());
    return n->first.id;
  }
  NewInstance placed(std::vector<std::string> candidates, int64_t memory_mb,
                     bool requested = false) {
    NewInstance n;
    n.name = "srv";
    n.owner_id = alice_;
    n.template_name = "test";
    n.resources = {{"memory_mb", memory_mb}, {"disk_mb", 10}};
    n.requested_by = alice_;
    n.operation_params = {{"template", "test"}};
    n.placement = Placement{std::move(candidates), requested, limits_};
    return n;
  }
  Result<CreateOutcome> create(Store& s, const NewInstance& n, const std::string& key) {
    return s.createInstance(n, {alice_, key, "h"});
  }
  int64_t count(const std::string& table) { return tmp_.count(table); }

  testing::EngineStore tmp_{GetParam(), "zlh-placement-store"};
  std::unique_ptr<Store>& store_ = tmp_.store;
  std::string alice_;
  PlacementLimits limits_;
};

INSTANTIATE_TEST_SUITE_P(Engines, PlacementStoreTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         testing::engineName);

TEST_P(PlacementStoreTest, PlacesOnTheNodeWithMostMemoryFreeAndKeepsTheReservation) {
  std::string a = node("a", 1024), b = node("b", 2048);
  auto first = create(*store_, placed({a, b}, 1500), "k1");
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_TRUE(first->instance && first->operation);
  EXPECT_EQ(first->instance->node_id, b);
  EXPECT_EQ(first->operation->node_id, b);
  auto row = store_->getInstance(first->instance->id);
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(row->node_id, b);
  EXPECT_EQ(row->resources, json({{"memory_mb", 1500}, {"disk_mb", 10}}));
  // b has 548 MB left, a 1024: the next goes to a.
  auto second = create(*store_, placed({a, b}, 500), "k2");
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(second->instance->node_id, a);
}

TEST_P(PlacementStoreTest, RefusesWhatDoesNotFitAndWritesNothing) {
  std::string a = node("a", 1024);
  ASSERT_TRUE(create(*store_, placed({a}, 1024), "k1").ok());
  auto over = create(*store_, placed({a}, 1), "k2");
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, ErrorCode::kConflict);
  EXPECT_EQ(over.error().message,
            "no online node can take the instance (1 MB memory, 10 MB disk): a (" + a +
                "): 0 MB memory free");
  auto named = create(*store_, placed({a}, 1, true), "k3");
  ASSERT_FALSE(named.ok());
  EXPECT_EQ(
      named.error().message,
      "node a (" + a + ") cannot take the instance (1 MB memory, 10 MB disk): 0 MB memory free");
  EXPECT_EQ(count("instances"), 1);
  EXPECT_EQ(count("operations"), 1);
  EXPECT_EQ(count("idempotency_keys"), 1);
  // A node deleted since the API listed it.
  ASSERT_TRUE(store_->deleteNode(a).ok());
  auto gone = create(*store_, placed({a}, 1, true), "k4");
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, ErrorCode::kInvalidArgument);
}

TEST_P(PlacementStoreTest, RowsWithoutAUsableReservationCountTheDefaults) {
  // Rows written before placement, or by hand: what is not a positive integer reserves the
  // default (1024 MB memory, 5120 MB disk here), alike on both engines.
  std::string a = node("a", 4096, 20000);
  int k = 0;
  for (json resources : {json::object(), json{{"memory_mb", "x"}, {"disk_mb", -5}},
                         json{{"memory_mb", 1.5}, {"disk_mb", 0}}, json::array()}) {
    NewInstance n = placed({}, 0);
    n.placement.reset();
    n.node_id = a;
    n.resources = resources;
    auto r = create(*store_, n, "raw" + std::to_string(k++));
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  // 4 x 1024 MB of 4096 reserved: no room for 1 MB more; disk 4 x 5120 of 20000 is past full.
  auto over = create(*store_, placed({a}, 1), "k1");
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().message,
            "no online node can take the instance (1 MB memory, 10 MB disk): a (" + a +
                "): 0 MB memory free, 0 MB disk free");
}

TEST_P(PlacementStoreTest, MigrationFourReadsTheReservationsOfOlderRowsAlikeOnBothEngines) {
  // Rows from before the reserved_* columns: the migration derives them from resources by the
  // rule the store writes them with (placement.h, reservedColumn).
  std::string a = node("a", 100000, 100000);
  int k = 0;
  for (json resources :
       {json{{"memory_mb", 700}, {"disk_mb", 30}}, json{{"memory_mb", "x"}, {"disk_mb", -5}},
        json{{"memory_mb", 1.5}, {"disk_mb", 0}}, json{{"memory_mb", 1000.0}, {"disk_mb", 40}},
        json::array(), json::object()}) {
    NewInstance n = placed({}, 0);
    n.placement.reset();
    n.node_id = a;
    n.resources = resources;
    ASSERT_TRUE(create(*store_, n, "raw" + std::to_string(k++)).ok());
  }
  store_.reset();
  tmp_.execRaw(
      "DROP INDEX instances_by_node; "
      "ALTER TABLE instances DROP COLUMN reserved_memory_mb; "
      "ALTER TABLE instances DROP COLUMN reserved_disk_mb; "
      "CREATE INDEX instances_by_node ON instances (node_id); "
      "DELETE FROM schema_migrations WHERE version = 4");
  auto reopened = openStore(tmp_.url, {});
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  store_ = std::move(*reopened);
  ASSERT_TRUE(store_->migrate().ok());
  // Set: 700 memory; 30 + 40 disk. The other 5 rows' memory and 4 rows' disk take the defaults.
  const int64_t memory = 700 + 5 * limits_.default_memory_mb;
  const int64_t disk = 30 + 40 + 4 * limits_.default_disk_mb;
  NewInstance over = placed({a}, 100000 - memory + 1);
  over.resources["disk_mb"] = 100000 - disk + 1;
  auto refused = create(*store_, over, "k1");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("): " + std::to_string(100000 - memory) +
                                         " MB memory free, " + std::to_string(100000 - disk) +
                                         " MB disk free"),
            std::string::npos)
      << refused.error().message;
}

TEST_P(PlacementStoreTest, ADeletedInstanceReleasesItsReservation) {
  std::string a = node("a", 1024);
  auto in = create(*store_, placed({a}, 1024), "k1");
  ASSERT_TRUE(in.ok());
  EXPECT_FALSE(create(*store_, placed({a}, 1024), "k2").ok());
  // While the delete runs the instance still holds its room.
  auto del = store_->startOperation(
      {OperationKind::kInstanceDelete, in->instance->id, alice_, json::object(), "deleted"});
  ASSERT_TRUE(del.ok());
  EXPECT_FALSE(create(*store_, placed({a}, 1024), "k3").ok());
  OperationOutcome done;
  done.delete_instance = true;
  ASSERT_TRUE(*store_->finishOperation(del->second.id, done));
  auto again = create(*store_, placed({a}, 1024), "k4");
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->instance->node_id, a);
}

TEST_P(PlacementStoreTest, ARetryOfTheCreateThatTookTheLastRoomIsAReplay) {
  std::string a = node("a", 1024);
  auto first = create(*store_, placed({a}, 1024), "k1");
  ASSERT_TRUE(first.ok());
  auto retry = create(*store_, placed({a}, 1024), "k1");
  ASSERT_TRUE(retry.ok()) << retry.error().message;
  EXPECT_FALSE(retry->instance);
  ASSERT_TRUE(retry->existing);
  EXPECT_EQ(retry->existing->instance_id, first->instance->id);
}

TEST_P(PlacementStoreTest, ConcurrentCreatesNeverOverfillANode) {
  // Room for exactly 5 instances of 100 MB; 6 connections (as 6 coordinators would have) each
  // try 3 creates at once. Exactly 5 succeed; the rest are refused, never an error.
  constexpr int kThreads = 6, kEach = 3, kRoom = 5;
  std::string a = node("a", 100 * kRoom);
  std::vector<std::unique_ptr<Store>> stores;
  for (int i = 0; i < kThreads; ++i) {
    auto s = openStore(tmp_.url, {});
    ASSERT_TRUE(s.ok()) << s.error().message;
    stores.push_back(std::move(*s));
  }
  std::atomic<int> ready{0}, created{0}, refused{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ++ready;
      while (ready.load() < kThreads) std::this_thread::yield();
      for (int i = 0; i < kEach; ++i) {
        auto r = create(*stores[t], placed({a}, 100), "k" + std::to_string(t * kEach + i));
        if (r && r->instance)
          ++created;
        else if (!r && r.error().code == ErrorCode::kConflict)
          ++refused;
        else
          ++failed;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(created.load(), kRoom);
  EXPECT_EQ(refused.load(), kThreads * kEach - kRoom);
  EXPECT_EQ(count("instances"), kRoom);
  auto on = store_->listInstancesOnNode(a);
  ASSERT_TRUE(on.ok());
  EXPECT_EQ(on->size(), size_t{kRoom});
}

}  // namespace
}  // namespace zlh::coordinator::store
