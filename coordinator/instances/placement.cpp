#include "coordinator/instances/placement.h"

namespace zlh::coordinator::instances {
namespace {
using proto::ErrorCode;
using proto::makeError;
}  // namespace

bool runsLifecycle(const store::Node& node) {
  if (!node.plugins.is_array()) return false;
  for (const auto& p : node.plugins) {
    if (!p.is_object() || p.value("state", "") != "running") continue;
    auto kinds = p.find("job_kinds");
    if (kinds == p.end() || !kinds->is_array()) continue;
    for (const auto& k : *kinds)
      if (k.is_string() && k.get<std::string>() == "lifecycle.create") return true;
  }
  return false;
}

bool nodeOnline(const store::Node& node, const gateway::NodeLinks& links, common::Time now) {
  return links.isOnline(node.id) || node.linkLive(now);
}

proto::Result<store::Placement> placementFor(store::Store& store, const gateway::NodeLinks& links,
                                             const std::optional<std::string>& requested,
                                             const store::PlacementLimits& limits,
                                             common::Time now) {
  store::Placement placement;
  placement.limits = limits;
  if (requested) {
    auto node = store.getNode(*requested);
    if (!node && node.error().code == ErrorCode::kNotFound)
      return makeError(ErrorCode::kInvalidArgument, "node: no node " + requested->substr(0, 64));
    if (!node) return node.error();
    placement.candidates.push_back(node->id);
    placement.requested = true;
    return placement;
  }
  auto nodes = store.listNodes();
  if (!nodes) return nodes.error();
  size_t online = 0;
  for (const auto& n : *nodes) {
    if (!nodeOnline(n, links, now)) continue;
    ++online;
    if (runsLifecycle(n)) placement.candidates.push_back(n.id);
  }
  if (!placement.candidates.empty()) return placement;
  if (online == 0)
    return makeError(ErrorCode::kConflict, "no node is online to place the instance on");
  return makeError(ErrorCode::kConflict, "no online node runs the lifecycle plugin");
}

}  // namespace zlh::coordinator::instances
