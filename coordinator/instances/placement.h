#pragma once
// Where a new instance may go (docs/placement.md). This part knows the links: it lists the
// candidate nodes; the store then picks among them inside createInstance's transaction, where it
// sees every reservation (store/placement.h).
#include <optional>
#include <string>

#include "coordinator/gateway/node_links.h"
#include "coordinator/store/store.h"

namespace zlh::coordinator::instances {

/// The requested node (it must exist; it need not be online, nor run the lifecycle plugin: the
/// operation then waits for it), else every online node running the lifecycle plugin.
/// InvalidArgument when the requested node does not exist; Conflict when no node is online or
/// none of the online ones runs the lifecycle plugin.
/// Online means linked to any coordinator: to this one, or to another that holds the node's
/// link lease in the store (the job is queued here and claimed there).
proto::Result<store::Placement> placementFor(store::Store& store, const gateway::NodeLinks& links,
                                             const std::optional<std::string>& requested,
                                             const store::PlacementLimits& limits,
                                             common::Time now = common::now());

/// Linked here, or its link lease (held by any coordinator) has not expired at `now`.
bool nodeOnline(const store::Node& node, const gateway::NodeLinks& links, common::Time now);

/// True when the node's last hello listed a running plugin offering `lifecycle.create`.
bool runsLifecycle(const store::Node& node);

}  // namespace zlh::coordinator::instances
