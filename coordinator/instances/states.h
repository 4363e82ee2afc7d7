#pragma once
// Instance states (docs/lifecycle.md) and the agent's InstanceView as the coordinator reads it.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "coordinator/store/instance_types.h"

namespace zlh::coordinator::instances {

/// installing, installed, starting, running, ready, stopping, stopped, crashed, failed.
const std::vector<std::string>& agentStates();
bool isAgentState(std::string_view state);
/// provisioning, deleting and the agent states: the values of zlh_instances{state}.
const std::vector<std::string>& publicStates();

/// The fields of an agent's InstanceView the coordinator keeps.
struct InstanceView {
  std::string id;
  std::optional<std::string> state;  // none when absent or not a known state
  uint64_t state_version = 0;
  std::optional<bool> unresponsive;
  bool has_address = false;  // "address" present (a string or null)
  std::optional<std::string> address;
};

/// Reads an InstanceView; nullopt when `j` is not an object with a string id and an unsigned
/// state_version.
std::optional<InstanceView> parseInstanceView(const nlohmann::json& j);

/// The observation a job result carries about the instance on `node_id` (no event recorded: the
/// agent sends instance.state for every transition itself).
store::Observation observationOf(const InstanceView& view, const std::string& node_id);

}  // namespace zlh::coordinator::instances
