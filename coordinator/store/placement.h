#pragma once
// Placement of a new instance (docs/placement.md), engine-neutral. Inside createInstance's
// transaction an engine reads the candidate nodes (PostgreSQL: locking their rows) and sums the
// reservations of the instances on them (one aggregate over an index, no row parsed here); the fit, the choice and the refusal's wording are decided here, so both
// engines place alike and SQL is all that differs.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "coordinator/store/instance_types.h"
#include "coordinator/store/placement_types.h"
#include "proto/v1/result.h"

namespace zlh::coordinator::store {

/// Memory and disk in MB (1 MB = 1048576 bytes).
struct Reservation {
  int64_t memory_mb = 0;
  int64_t disk_mb = 0;
};

/// What an instance reserves: its resources' memory_mb and disk_mb, the defaults where absent.
/// cpu_pct is not reserved (CPU is shared).
Reservation reservationOf(const nlohmann::json& resources, const PlacementLimits& limits);

/// What a row keeps in its reserved_memory_mb / reserved_disk_mb columns (`key` "memory_mb" or
/// "disk_mb"): the value when it is a positive integer, else none (the default at placement
/// time). Migration 4 fills the columns of older rows by the same rule in SQL.
std::optional<int64_t> reservedColumn(const nlohmann::json& resources, const char* key);

/// One candidate node as the create's transaction sees it.
struct NodeLoad {
  std::string id;
  std::string name;
  /// What the node offers (memory after overcommit); none when its hello reported no usable
  /// memory_bytes and disk_bytes (it never connected, or could not measure them).
  std::optional<Reservation> offered;
  int64_t instances = 0;
  Reservation reserved;  // summed over the instances placed on it
};

/// Builds the candidates' loads from the rows an engine reads.
class NodeLoads {
 public:
  explicit NodeLoads(const PlacementLimits& limits) : limits_(limits) {}
  /// A candidate's row; `capacity` is its capacity column as stored (JSON text; none before
  /// its first hello).
  void addNode(const std::string& id, const std::string& name,
               const std::optional<std::string>& capacity);
  /// The instances on one node, summed by the engine over their reserved_* columns: how many,
  /// the sum of the set values, and how many rows leave each unset (they reserve the default).
  /// Nodes not added are ignored.
  void addInstances(const std::string& node_id, int64_t count, Reservation set_sum,
                    int64_t memory_unset, int64_t disk_unset);
  const std::vector<NodeLoad>& loads() const { return loads_; }

 private:
  PlacementLimits limits_;
  std::vector<NodeLoad> loads_;
  std::map<std::string, size_t> index_;  // id -> position in loads_
};

/// The node for `demand` among `loads` (any order) by the rules of `placement`: of the nodes
/// that fit, the one with the most memory free, ties by name then id. Conflict saying why each
/// node does not fit when none does; InvalidArgument when the requested node is gone.
proto::Result<std::string> pickNode(const Placement& placement, const Reservation& demand,
                                    const std::vector<NodeLoad>& loads);

/// `in` placed on the node pickNode picks, its resources holding what it reserves (the
/// defaults filled in). Without a Placement, `in` as it is.
proto::Result<NewInstance> placedInstance(const NewInstance& in,
                                          const std::vector<NodeLoad>& loads);

}  // namespace zlh::coordinator::store
