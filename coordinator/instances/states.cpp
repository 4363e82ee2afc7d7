#include "coordinator/instances/states.h"

#include <algorithm>

namespace zlh::coordinator::instances {

const std::vector<std::string>& agentStates() {
  static const std::vector<std::string> states{"installing", "installed", "starting",
                                               "running",    "ready",     "stopping",
                                               "stopped",    "crashed",   "failed"};
  return states;
}

bool isAgentState(std::string_view state) {
  const auto& s = agentStates();
  return std::find(s.begin(), s.end(), state) != s.end();
}

const std::vector<std::string>& publicStates() {
  static const std::vector<std::string> states = [] {
    std::vector<std::string> v{std::string(store::kStateProvisioning),
                               std::string(store::kStateDeleting)};
    v.insert(v.end(), agentStates().begin(), agentStates().end());
    return v;
  }();
  return states;
}

std::optional<InstanceView> parseInstanceView(const nlohmann::json& j) {
  if (!j.is_object()) return std::nullopt;
  auto id = j.find("id");
  auto version = j.find("state_version");
  if (id == j.end() || !id->is_string() || version == j.end() || !version->is_number_integer() ||
      (!version->is_number_unsigned() && version->get<int64_t>() < 0))
    return std::nullopt;
  InstanceView v;
  v.id = id->get<std::string>();
  v.state_version = version->get<uint64_t>();
  if (auto s = j.find("state");
      s != j.end() && s->is_string() && isAgentState(s->get<std::string>()))
    v.state = s->get<std::string>();
  if (auto u = j.find("unresponsive"); u != j.end() && u->is_boolean())
    v.unresponsive = u->get<bool>();
  if (auto a = j.find("address"); a != j.end() && (a->is_null() || a->is_string())) {
    v.has_address = true;
    if (a->is_string()) v.address = a->get<std::string>();
  }
  return v;
}

store::Observation observationOf(const InstanceView& view, const std::string& node_id) {
  store::Observation o;
  o.instance_id = view.id;
  o.node_id = node_id;
  o.state_version = view.state_version;
  o.state = view.state;
  o.unresponsive = view.unresponsive;
  o.set_address = view.has_address;
  o.address = view.address;
  return o;
}

}  // namespace zlh::coordinator::instances
