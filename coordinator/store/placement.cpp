#include "coordinator/store/placement.h"

#include <algorithm>

#include "coordinator/store/json_columns.h"

namespace zlh::coordinator::store {
namespace {
using nlohmann::json;
using proto::ErrorCode;
using proto::makeError;

constexpr int64_t kMiB = 1048576;
/// Nodes a refusal describes one by one; the rest are counted.
constexpr size_t kNodesInMessage = 8;

/// A capacity field in whole MB; none unless it is a positive integer (an agent that could not
/// measure reports 0).
std::optional<int64_t> capacityMb(const json& capacity, const char* key) {
  auto it = capacity.find(key);
  if (it == capacity.end() || !it->is_number_integer()) return std::nullopt;
  if (it->is_number_unsigned()) {
    uint64_t v = it->get<uint64_t>();
    if (v == 0) return std::nullopt;
    return static_cast<int64_t>(v / kMiB);
  }
  int64_t v = it->get<int64_t>();
  if (v <= 0) return std::nullopt;
  return v / kMiB;
}

std::string mb(int64_t n) { return std::to_string(std::max<int64_t>(n, 0)) + " MB"; }

std::string label(const NodeLoad& n) { return n.name + " (" + n.id + ")"; }

/// Why `node` cannot take `demand`; empty when it can.
std::string misfit(const NodeLoad& node, const Reservation& demand, const PlacementLimits& limits) {
  if (!node.offered) return "has not reported its capacity (no hello with memory and disk yet)";
  if (node.instances >= limits.max_instances_per_node)
    return "holds " + std::to_string(node.instances) + " instances, the most a node takes";
  int64_t memory_free = node.offered->memory_mb - node.reserved.memory_mb;
  int64_t disk_free = node.offered->disk_mb - node.reserved.disk_mb;
  std::string why;
  if (demand.memory_mb > memory_free) why = mb(memory_free) + " memory free";
  if (demand.disk_mb > disk_free) why += (why.empty() ? "" : ", ") + mb(disk_free) + " disk free";
  return why;
}

int64_t memoryFree(const NodeLoad& n) { return n.offered->memory_mb - n.reserved.memory_mb; }

/// The better of two fitting nodes: more memory free, then the name, then the id.
bool better(const NodeLoad& a, const NodeLoad& b) {
  if (memoryFree(a) != memoryFree(b)) return memoryFree(a) > memoryFree(b);
  if (a.name != b.name) return a.name < b.name;
  return a.id < b.id;
}

std::string demandText(const Reservation& d) {
  return mb(d.memory_mb) + " memory, " + mb(d.disk_mb) + " disk";
}

proto::Error noneFits(const Reservation& demand, const PlacementLimits& limits,
                      std::vector<NodeLoad> loads) {
  std::sort(loads.begin(), loads.end(), [](const NodeLoad& a, const NodeLoad& b) {
    return a.name != b.name ? a.name < b.name : a.id < b.id;
  });
  std::string msg = "no online node can take the instance (" + demandText(demand) + "): ";
  for (size_t i = 0; i < loads.size() && i < kNodesInMessage; ++i)
    msg += (i ? "; " : "") + label(loads[i]) + ": " + misfit(loads[i], demand, limits);
  if (loads.size() > kNodesInMessage)
    msg += "; and " + std::to_string(loads.size() - kNodesInMessage) + " more";
  return makeError(ErrorCode::kConflict, msg);
}
}  // namespace

std::optional<int64_t> reservedColumn(const json& resources, const char* key) {
  if (!resources.is_object()) return std::nullopt;
  auto it = resources.find(key);
  if (it == resources.end() || !it->is_number_integer() || it->get<int64_t>() <= 0)
    return std::nullopt;
  return it->get<int64_t>();
}

Reservation reservationOf(const json& resources, const PlacementLimits& limits) {
  return {reservedColumn(resources, "memory_mb").value_or(limits.default_memory_mb),
          reservedColumn(resources, "disk_mb").value_or(limits.default_disk_mb)};
}

void NodeLoads::addNode(const std::string& id, const std::string& name,
                        const std::optional<std::string>& capacity) {
  NodeLoad n;
  n.id = id;
  n.name = name;
  if (capacity) {
    json c = columns::jsonColumn(*capacity, json::object());
    auto memory = c.is_object() ? capacityMb(c, "memory_bytes") : std::nullopt;
    auto disk = c.is_object() ? capacityMb(c, "disk_bytes") : std::nullopt;
    if (memory && disk)
      n.offered = Reservation{*memory * limits_.memory_overcommit_pct / 100, *disk};
  }
  index_[n.id] = loads_.size();
  loads_.push_back(std::move(n));
}

void NodeLoads::addInstances(const std::string& node_id, int64_t count, Reservation set_sum,
                             int64_t memory_unset, int64_t disk_unset) {
  auto it = index_.find(node_id);
  if (it == index_.end()) return;
  NodeLoad& n = loads_[it->second];
  n.instances += count;
  n.reserved.memory_mb += set_sum.memory_mb + memory_unset * limits_.default_memory_mb;
  n.reserved.disk_mb += set_sum.disk_mb + disk_unset * limits_.default_disk_mb;
}

proto::Result<std::string> pickNode(const Placement& placement, const Reservation& demand,
                                    const std::vector<NodeLoad>& loads) {
  const PlacementLimits& limits = placement.limits;
  if (placement.requested) {
    std::string id = placement.candidates.empty() ? "" : placement.candidates.front();
    auto it =
        std::find_if(loads.begin(), loads.end(), [&](const NodeLoad& n) { return n.id == id; });
    if (it == loads.end())
      return makeError(ErrorCode::kInvalidArgument, "node: no node " + id.substr(0, 64));
    std::string why = misfit(*it, demand, limits);
    if (why.empty()) return it->id;
    return makeError(ErrorCode::kConflict, "node " + label(*it) + " cannot take the instance (" +
                                               demandText(demand) + "): " + why);
  }
  const NodeLoad* best = nullptr;
  for (const auto& n : loads)
    if (misfit(n, demand, limits).empty() && (!best || better(n, *best))) best = &n;
  if (best) return best->id;
  if (loads.empty())
    return makeError(ErrorCode::kConflict, "no node is online to place the instance on");
  return noneFits(demand, limits, loads);
}

proto::Result<NewInstance> placedInstance(const NewInstance& in,
                                          const std::vector<NodeLoad>& loads) {
  if (!in.placement) return in;
  Reservation demand = reservationOf(in.resources, in.placement->limits);
  auto node = pickNode(*in.placement, demand, loads);
  if (!node) return node.error();
  NewInstance out = in;
  out.node_id = *node;
  // The row keeps what it reserves, so a later change of the defaults moves no reservation.
  if (!out.resources.is_object()) out.resources = json::object();
  out.resources["memory_mb"] = demand.memory_mb;
  out.resources["disk_mb"] = demand.disk_mb;
  return out;
}

}  // namespace zlh::coordinator::store
