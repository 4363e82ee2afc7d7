#include "proto/v1/messages.h"

#include <limits>
#include <type_traits>

namespace zlh::proto {
namespace {
using nlohmann::json;

// nlohmann converts -1 to a huge unsigned and 1.5 to 1 silently: numbers are checked first.
template <class T>
void get(const json& v, const char* key, T& out) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    bool fits = std::is_unsigned_v<T> ? v.is_number_unsigned() : v.is_number_integer();
    if (!fits) throw json::type_error::create(302, std::string(key) + " must be an integer" +
                                                       (std::is_unsigned_v<T> ? " >= 0" : ""), &v);
    bool inRange = std::is_unsigned_v<T>
                       ? v.get<uint64_t>() <= std::numeric_limits<T>::max()
                       : (v.get<int64_t>() >= std::numeric_limits<T>::min() &&
                          v.get<int64_t>() <= std::numeric_limits<T>::max());
    if (!inRange) throw json::type_error::create(302, std::string(key) + " is out of range", &v);
  }
  v.get_to(out);
}
template <class T>
void req(const json& j, const char* key, T& out) {
  get(j.at(key), key, out);
}
template <class T>
void opt(const json& j, const char* key, std::optional<T>& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  T tmp{};
  get(*it, key, tmp);
  out = std::move(tmp);
}
template <class T>
void optOr(const json& j, const char* key, T& out) {
  auto it = j.find(key);
  if (it != j.end() && !it->is_null()) get(*it, key, out);
}
void reqObject(const json& j, const char* key, json& out) {
  const auto& v = j.at(key);
  if (!v.is_object()) throw json::type_error::create(302, std::string(key) + " must be an object", &j);
  out = v;
}
void optObject(const json& j, const char* key, json& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  if (!it->is_object()) throw json::type_error::create(302, std::string(key) + " must be an object", &j);
  out = *it;
}
void requireObject(const json& j) {
  if (!j.is_object()) throw json::type_error::create(302, "body must be an object", &j);
}
}  // namespace

void to_json(json& j, const Capacity& v) {
  j = {{"cpus", v.cpus}, {"memory_bytes", v.memory_bytes}, {"disk_bytes", v.disk_bytes}};
}
void from_json(const json& j, Capacity& v) {
  requireObject(j);
  req(j, "cpus", v.cpus);
  req(j, "memory_bytes", v.memory_bytes);
  req(j, "disk_bytes", v.disk_bytes);
}

void to_json(json& j, const PluginInfo& v) {
  j = {{"name", v.name}, {"state", v.state}, {"job_kinds", v.job_kinds}};
}
void from_json(const json& j, PluginInfo& v) {
  requireObject(j);
  req(j, "name", v.name);
  req(j, "state", v.state);
  req(j, "job_kinds", v.job_kinds);
}

void to_json(json& j, const InstanceSummary& v) {
  j = {{"id", v.id}, {"template", v.template_name}, {"state", v.state}, {"state_version", v.state_version}};
}
void from_json(const json& j, InstanceSummary& v) {
  requireObject(j);
  req(j, "id", v.id);
  req(j, "template", v.template_name);
  req(j, "state", v.state);
  req(j, "state_version", v.state_version);
}

void to_json(json& j, const Hello& v) {
  j = {{"node_id", v.node_id},     {"agent_version", v.agent_version}, {"protocols", v.protocols},
       {"plugins", v.plugins},     {"capacity", v.capacity},           {"metrics_url", v.metrics_url},
       {"instances", v.instances}};
}
void from_json(const json& j, Hello& v) {
  requireObject(j);
  req(j, "node_id", v.node_id);
  req(j, "agent_version", v.agent_version);
  req(j, "protocols", v.protocols);
  req(j, "plugins", v.plugins);
  req(j, "capacity", v.capacity);
  req(j, "metrics_url", v.metrics_url);
  req(j, "instances", v.instances);
}

void to_json(json& j, const Welcome& v) {
  j = {{"node_id", v.node_id},
       {"coordinator_version", v.coordinator_version},
       {"protocol", v.protocol},
       {"ping_interval_s", v.ping_interval_s}};
}
void from_json(const json& j, Welcome& v) {
  requireObject(j);
  req(j, "node_id", v.node_id);
  req(j, "coordinator_version", v.coordinator_version);
  req(j, "protocol", v.protocol);
  optOr(j, "ping_interval_s", v.ping_interval_s);
}

void to_json(json& j, const JobStart& v) {
  j = {{"job_id", v.job_id}, {"kind", v.kind}, {"params", v.params}, {"deadline_ms", v.deadline_ms}};
  if (v.instance_id) j["instance_id"] = *v.instance_id;
}
void from_json(const json& j, JobStart& v) {
  requireObject(j);
  req(j, "job_id", v.job_id);
  req(j, "kind", v.kind);
  opt(j, "instance_id", v.instance_id);
  v.params = json::object();
  optObject(j, "params", v.params);
  optOr(j, "deadline_ms", v.deadline_ms);
}

void to_json(json& j, const JobProgress& v) {
  j = {{"job_id", v.job_id}, {"message", v.message}};
  if (v.percent) j["percent"] = *v.percent;
}
void from_json(const json& j, JobProgress& v) {
  requireObject(j);
  req(j, "job_id", v.job_id);
  opt(j, "percent", v.percent);
  optOr(j, "message", v.message);
}

void to_json(json& j, const JobDone& v) {
  j = {{"job_id", v.job_id}};
  if (v.error) {
    j["error"] = *v.error;
  } else {
    j["result"] = v.result.value_or(json::object());
  }
  if (v.redelivered) j["redelivered"] = true;
}
void from_json(const json& j, JobDone& v) {
  requireObject(j);
  req(j, "job_id", v.job_id);
  opt(j, "result", v.result);
  opt(j, "error", v.error);
  if (v.result.has_value() == v.error.has_value())
    throw json::other_error::create(501, "job.done needs exactly one of result, error", &j);
  optOr(j, "redelivered", v.redelivered);
}

void to_json(json& j, const InstanceState& v) {
  j = {{"instance_id", v.instance_id}, {"state", v.state}, {"state_version", v.state_version}};
  if (v.reason) j["reason"] = *v.reason;
}
void from_json(const json& j, InstanceState& v) {
  requireObject(j);
  req(j, "instance_id", v.instance_id);
  req(j, "state", v.state);
  req(j, "state_version", v.state_version);
  opt(j, "reason", v.reason);
}

void to_json(json& j, const InstanceReady& v) {
  j = {{"instance_id", v.instance_id}, {"state_version", v.state_version}};
}
void from_json(const json& j, InstanceReady& v) {
  requireObject(j);
  req(j, "instance_id", v.instance_id);
  req(j, "state_version", v.state_version);
}

void to_json(json& j, const InstanceCrashed& v) {
  j = {{"instance_id", v.instance_id}, {"state_version", v.state_version}, {"exit", v.exit}};
}
void from_json(const json& j, InstanceCrashed& v) {
  requireObject(j);
  req(j, "instance_id", v.instance_id);
  req(j, "state_version", v.state_version);
  reqObject(j, "exit", v.exit);
}

void to_json(json& j, const InstanceUnresponsive& v) {
  j = {{"instance_id", v.instance_id}, {"state_version", v.state_version}, {"unresponsive", v.unresponsive}};
}
void from_json(const json& j, InstanceUnresponsive& v) {
  requireObject(j);
  req(j, "instance_id", v.instance_id);
  req(j, "state_version", v.state_version);
  req(j, "unresponsive", v.unresponsive);
}

void to_json(json& j, const StreamOpen& v) {
  j = {{"stream_id", v.stream_id}, {"kind", v.kind},     {"instance_id", v.instance_id},
       {"params", v.params},       {"initial_credit", v.initial_credit}};
}
void from_json(const json& j, StreamOpen& v) {
  requireObject(j);
  req(j, "stream_id", v.stream_id);
  req(j, "kind", v.kind);
  req(j, "instance_id", v.instance_id);
  v.params = json::object();
  optObject(j, "params", v.params);
  optOr(j, "initial_credit", v.initial_credit);
}

void to_json(json& j, const StreamClose& v) {
  j = {{"stream_id", v.stream_id}};
  if (v.error) j["error"] = *v.error;
}
void from_json(const json& j, StreamClose& v) {
  requireObject(j);
  req(j, "stream_id", v.stream_id);
  opt(j, "error", v.error);
}

void to_json(json& j, const StreamCredit& v) { j = {{"stream_id", v.stream_id}, {"bytes", v.bytes}}; }
void from_json(const json& j, StreamCredit& v) {
  requireObject(j);
  req(j, "stream_id", v.stream_id);
  req(j, "bytes", v.bytes);
}

void to_json(json& j, const ProtocolError& v) {
  j = {{"code", v.code}, {"message", v.message}};
  if (v.ref) j["ref"] = *v.ref;
}
void from_json(const json& j, ProtocolError& v) {
  requireObject(j);
  req(j, "code", v.code);
  req(j, "message", v.message);
  opt(j, "ref", v.ref);
}

}  // namespace zlh::proto
