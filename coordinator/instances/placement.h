#pragma once
// Thin placement: the node a new instance goes to. The requested node when given (it must
// exist; it need not be online: the operation then waits for it); else the online node running
// the lifecycle plugin with the fewest instances (ties: by name). Real placement (capacity,
// resources) comes with the queue issue.
#include <optional>
#include <string>

#include "coordinator/gateway/node_links.h"
#include "coordinator/store/store.h"

namespace zlh::coordinator::instances {

/// InvalidArgument when the requested node does not exist; Conflict when no node can take it.
proto::Result<std::string> chooseNode(store::Store& store, const gateway::NodeLinks& links,
                                      const std::optional<std::string>& requested);

/// True when the node's last hello listed a running plugin offering `lifecycle.create`.
bool runsLifecycle(const store::Node& node);

}  // namespace zlh::coordinator::instances
