#pragma once
// Thin placement: the node a new instance goes to. The requested node when given (it must
// exist; it need not be online: the operation then waits for it); else the online node running
// the lifecycle plugin with the fewest instances (ties: by name). Online means linked to any
// coordinator: to this one, or to another that holds the node's link lease in the store (its
// job is queued here and claimed there). Real placement (capacity, resources) comes later.
#include <optional>
#include <string>

#include "coordinator/gateway/node_links.h"
#include "coordinator/store/store.h"

namespace zlh::coordinator::instances {

/// InvalidArgument when the requested node does not exist; Conflict when no node can take it.
proto::Result<std::string> chooseNode(store::Store& store, const gateway::NodeLinks& links,
                                      const std::optional<std::string>& requested,
                                      common::Time now);

/// Linked here, or its link lease (held by any coordinator) has not expired at `now`.
bool nodeOnline(const store::Node& node, const gateway::NodeLinks& links, common::Time now);

/// True when the node's last hello listed a running plugin offering `lifecycle.create`.
bool runsLifecycle(const store::Node& node);

}  // namespace zlh::coordinator::instances
