#include "coordinator/instances/agent_events.h"

#include <spdlog/spdlog.h>

#include <set>

#include "coordinator/instances/states.h"

namespace zlh::coordinator::instances {
namespace {
using nlohmann::json;
using proto::ErrorCode;

json cappedBody(const json& body, const std::string& instance_id, uint64_t version) {
  if (body.dump(-1, ' ', false, json::error_handler_t::replace).size() <= kMaxEventBodyBytes)
    return body;
  return {{"instance_id", instance_id}, {"state_version", version}, {"truncated", true}};
}

store::Observation baseObservation(const std::string& node_id, const std::string& type,
                                   const std::string& instance_id, uint64_t version,
                                   const json& body) {
  store::Observation o;
  o.instance_id = instance_id;
  o.node_id = node_id;
  o.state_version = version;
  o.event = store::InstanceEvent{type, common::now(), cappedBody(body, instance_id, version)};
  return o;
}

template <class T>
std::optional<T> decodeBody(const std::string& node_id, const proto::Envelope& env) {
  auto body = proto::bodyAs<T>(env);
  if (!body) {
    spdlog::warn("node {}: {} ignored: {}", node_id, env.type, body.error().message);
    return std::nullopt;
  }
  return std::move(*body);
}
}  // namespace

void AgentEvents::apply(const std::string& type, const store::Observation& o) {
  auto applied = store_.observeInstance(o);
  if (!applied) {
    if (applied.error().code == ErrorCode::kNotFound)
      spdlog::warn("node {}: {} for instance {} ignored: no such instance on this node", o.node_id,
                   type, o.instance_id.substr(0, 64));
    else
      spdlog::error("node {}: recording {} of {} failed: {}", o.node_id, type, o.instance_id,
                    applied.error().message);
    return;
  }
  if (!*applied)
    spdlog::debug("node {}: stale {} of {} (version {}) dropped", o.node_id, type, o.instance_id,
                  o.state_version);
}

void AgentEvents::onAgentEvent(const std::string& node_id, const proto::Envelope& env) {
  const std::string& type = env.type;
  if (type == proto::InstanceState::kType) {
    auto e = decodeBody<proto::InstanceState>(node_id, env);
    if (!e) return;
    if (!isAgentState(e->state)) {
      spdlog::warn("node {}: instance.state of {} ignored: unknown state \"{}\"", node_id,
                   e->instance_id.substr(0, 64), e->state.substr(0, 32));
      return;
    }
    auto o = baseObservation(node_id, type, e->instance_id, e->state_version, env.body);
    o.state = e->state;
    o.stopped_by_itself = e->state == "stopped";
    apply(type, o);
  } else if (type == proto::InstanceReady::kType) {
    auto e = decodeBody<proto::InstanceReady>(node_id, env);
    if (!e) return;
    auto o = baseObservation(node_id, type, e->instance_id, e->state_version, env.body);
    o.state = "ready";
    apply(type, o);
  } else if (type == proto::InstanceCrashed::kType) {
    auto e = decodeBody<proto::InstanceCrashed>(node_id, env);
    if (e) apply(type, baseObservation(node_id, type, e->instance_id, e->state_version, env.body));
  } else if (type == proto::InstanceUnresponsive::kType) {
    auto e = decodeBody<proto::InstanceUnresponsive>(node_id, env);
    if (!e) return;
    auto o = baseObservation(node_id, type, e->instance_id, e->state_version, env.body);
    o.unresponsive = e->unresponsive;
    apply(type, o);
  } else {
    spdlog::debug("node {}: {} not handled yet", node_id, type);
  }
}

void AgentEvents::reconcile(const std::string& node_id,
                            const std::vector<proto::InstanceSummary>& inventory) {
  std::set<std::string> reported;
  for (const auto& s : inventory) {
    reported.insert(s.id);
    auto inst = store_.getInstance(s.id);
    if (!inst || inst->node_id != node_id) {
      if (inst || inst.error().code == ErrorCode::kNotFound)
        spdlog::warn(
            "node {} reports instance {} that this coordinator does not know there: left alone",
            node_id, s.id.substr(0, 64));
      else
        spdlog::error("node {}: reading instance {} failed: {}", node_id, s.id,
                      inst.error().message);
      continue;
    }
    if (!isAgentState(s.state) ||
        (s.state == inst->state && s.state_version == inst->state_version))
      continue;
    json body = {{"instance_id", s.id},
                 {"state", s.state},
                 {"state_version", s.state_version},
                 {"reason", "reported in the agent's hello"}};
    auto o = baseObservation(node_id, proto::InstanceState::kType, s.id, s.state_version, body);
    o.state = s.state;
    o.stopped_by_itself = s.state == "stopped";  // e.g. typed `stop` while the link was down
    apply("hello inventory", o);
  }
  auto known = store_.listInstancesOnNode(node_id);
  if (!known) return;
  for (const auto& inst : *known) {
    // Never reported by the agent (provisioning, or a create that failed) or being deleted.
    if (reported.count(inst.id) || inst.state_version == 0 || inst.desired_state == "deleted")
      continue;
    spdlog::warn("node {} did not report instance {} (last state {}): left as is", node_id, inst.id,
                 inst.state);
  }
}

void AgentEvents::onNodeReady(const std::string& node_id, const proto::Hello& hello) {
  reconcile(node_id, hello.instances);
  dispatcher_.onNodeReady(node_id);
}

}  // namespace zlh::coordinator::instances
