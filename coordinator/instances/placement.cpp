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

proto::Result<std::string> chooseNode(store::Store& store, const gateway::NodeLinks& links,
                                      const std::optional<std::string>& requested,
                                      common::Time now) {
  if (requested) {
    auto node = store.getNode(*requested);
    if (node) return node->id;
    if (node.error().code == ErrorCode::kNotFound)
      return makeError(ErrorCode::kInvalidArgument, "node: no node " + requested->substr(0, 64));
    return node.error();
  }
  auto nodes = store.listNodes();
  if (!nodes) return nodes.error();
  auto counts = store.countInstancesByNode();
  if (!counts) return counts.error();
  const store::Node* best = nullptr;
  int64_t best_count = 0;
  size_t online = 0;
  for (const auto& n : *nodes) {  // ordered by name
    if (!nodeOnline(n, links, now)) continue;
    ++online;
    if (!runsLifecycle(n)) continue;
    auto it = counts->find(n.id);
    int64_t c = it == counts->end() ? 0 : it->second;
    if (!best || c < best_count) {
      best = &n;
      best_count = c;
    }
  }
  if (best) return best->id;
  if (online == 0)
    return makeError(ErrorCode::kConflict, "no node is online to place the instance on");
  return makeError(ErrorCode::kConflict, "no online node runs the lifecycle plugin");
}

}  // namespace zlh::coordinator::instances
