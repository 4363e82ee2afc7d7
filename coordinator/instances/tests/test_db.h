#pragma once
// A migrated SQLite store in a temp dir, with a user and a node, for the instances tests.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "coordinator/common/tokens.h"
#include "coordinator/store/store.h"
#include "coordinator/store/tests/temp_store.h"

namespace zlh::coordinator::instances::testing {

class TestDb {
  store::testing::TempStore tmp_{"zlh-instances-test"};  // first: destroyed last

 public:
  TestDb() { user = store->createUser({"alice", store::Role::kUser})->id; }
  /// A node whose hello reported `capacity` (default: room for everything a test makes).
  std::string addNode(const std::string& name, bool lifecycle = true,
                      const nlohmann::json& capacity = bigCapacity()) {
    auto n = store->createNodeWithToken(name, common::sha256Hex(name + "-token"));
    EXPECT_TRUE(n.ok());
    nlohmann::json plugins = nlohmann::json::array();
    if (lifecycle)
      plugins.push_back(
          {{"name", "lifecycle"}, {"state", "running"}, {"job_kinds", {"lifecycle.create"}}});
    EXPECT_TRUE(store->recordHello(n->first.id, {common::now(), "1", capacity, "", plugins}).ok());
    return n->first.id;
  }
  /// What an agent reports in hello: memory and disk in MB (1 MB = 1048576 bytes).
  static nlohmann::json capacityMb(int64_t memory_mb, int64_t disk_mb) {
    return {{"cpus", 4}, {"memory_bytes", memory_mb << 20}, {"disk_bytes", disk_mb << 20}};
  }
  static nlohmann::json bigCapacity() { return capacityMb(1 << 20, 1 << 24); }
  /// An instance and its queued create operation on `node`.
  store::CreateOutcome createInstance(const std::string& node, const std::string& key = "k") {
    store::NewInstance n;
    n.name = "srv";
    n.owner_id = user;
    n.template_name = "test";
    n.node_id = node;
    n.requested_by = user;
    n.operation_params = {{"template", "test"},
                          {"name", "srv"},
                          {"params", nlohmann::json::object()},
                          {"env", nlohmann::json::object()},
                          {"resources", nlohmann::json::object()},
                          {"start", true}};
    auto r = store->createInstance(n, {user, key, "h"});
    EXPECT_TRUE(r.ok() && r->operation);
    return *r;
  }

  std::unique_ptr<store::Store>& store = tmp_.store;
  std::string user;
};

}  // namespace zlh::coordinator::instances::testing
