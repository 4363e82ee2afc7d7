#pragma once
// What a create asks of placement (docs/placement.md). Engine-neutral: no SQL types here.
#include <cstdint>
#include <string>
#include <vector>

namespace zlh::coordinator::store {

/// The rules of placement: `[placement]` in coordinator.toml (docs/configuration.md).
struct PlacementLimits {
  int64_t default_memory_mb = 1024;      // reserved by a request that names no memory_mb
  int64_t default_disk_mb = 5120;        // reserved by a request that names no disk_mb
  int64_t memory_overcommit_pct = 100;   // a node offers its memory_bytes times this / 100
  int64_t max_instances_per_node = 100;  // instances a node holds at most
};

/// The nodes a new instance may go to. The store picks one inside createInstance's transaction,
/// after summing what the instances already on them reserve, so concurrent creates cannot both
/// take the last room on a node.
struct Placement {
  /// Node ids, in no particular order: the online nodes running the lifecycle plugin, or the
  /// one node the request named.
  std::vector<std::string> candidates;
  /// The request named the node: it alone is considered, and a misfit says why about it.
  bool requested = false;
  PlacementLimits limits;
};

}  // namespace zlh::coordinator::store
