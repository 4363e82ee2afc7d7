#include "proto/v1/messages.h"

#include <cmath>
#include <limits>
#include <type_traits>

namespace zlh::proto {
namespace {
using nlohmann::json;

template <class T>
struct IsVector : std::false_type {};
template <class T, class A>
struct IsVector<std::vector<T, A>> : std::true_type {};

[[noreturn]] void typeError(const json& v, const char* key, const std::string& what) {
  throw json::type_error::create(302, std::string(key) + " " + what, &v);
}

// An integer that fits T exactly. Parsed non-negative numbers are stored as unsigned, numbers
// built in C++ from signed types as signed: both are accepted when the value is in range.
template <class T>
bool integerFits(const json& v) {
  constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<T>::max());
  if (v.is_number_unsigned()) return v.get<uint64_t>() <= kMax;
  if (!v.is_number_integer()) return false;
  const int64_t x = v.get<int64_t>();
  if constexpr (std::is_unsigned_v<T>) {
    return x >= 0 && static_cast<uint64_t>(x) <= kMax;
  } else {
    return x >= std::numeric_limits<T>::min() && x <= std::numeric_limits<T>::max();
  }
}

// nlohmann converts -1 to a huge unsigned, 1.5 to 1, true to 1 and 3e10 to an int with undefined
// behaviour: numbers (also inside arrays) are checked before conversion.
template <class T>
void get(const json& v, const char* key, T& out) {
  if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_boolean()) typeError(v, key, "must be a boolean");
  } else if constexpr (std::is_integral_v<T>) {
    if (!v.is_number_integer())
      typeError(v, key, std::is_unsigned_v<T> ? "must be an integer >= 0" : "must be an integer");
    if (!integerFits<T>(v)) typeError(v, key, "is out of range");
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!v.is_number() || !std::isfinite(v.get<double>()))
      typeError(v, key, "must be a finite number");
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!v.is_string()) typeError(v, key, "must be a string");
  } else if constexpr (IsVector<T>::value) {
    if (!v.is_array()) typeError(v, key, "must be an array");
    T tmp;
    tmp.reserve(v.size());
    for (const auto& e : v) {
      typename T::value_type x{};
      get(e, key, x);
      tmp.push_back(std::move(x));
    }
    out = std::move(tmp);
    return;
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
  if (!v.is_object())
    throw json::type_error::create(302, std::string(key) + " must be an object", &j);
  out = v;
}
void optObject(const json& j, const char* key, json& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  if (!it->is_object())
    throw json::type_error::create(302, std::string(key) + " must be an object", &j);
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
  j = {{"id", v.id},
       {"template", v.template_name},
       {"state", v.state},
       {"state_version", v.state_version}};
}
void from_json(const json& j, InstanceSummary& v) {
  requireObject(j);
  req(j, "id", v.id);
  req(j, "template", v.template_name);
  req(j, "state", v.state);
  req(j, "state_version", v.state_version);
}

void to_json(json& j, const Hello& v) {
  j = {{"node_id", v.node_id},     {"agent_version", v.agent_version},
       {"protocols", v.protocols}, {"plugins", v.plugins},
       {"capacity", v.capacity},   {"metrics_url", v.metrics_url},
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
  j = {
      {"job_id", v.job_id}, {"kind", v.kind}, {"params", v.params}, {"deadline_ms", v.deadline_ms}};
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
    // A null result would read back as "neither result nor error": send {} instead.
    j["result"] = v.result && !v.result->is_null() ? *v.result : json::object();
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
  j = {{"instance_id", v.instance_id},
       {"state_version", v.state_version},
       {"unresponsive", v.unresponsive}};
}
void from_json(const json& j, InstanceUnresponsive& v) {
  requireObject(j);
  req(j, "instance_id", v.instance_id);
  req(j, "state_version", v.state_version);
  req(j, "unresponsive", v.unresponsive);
}

void to_json(json& j, const StreamOpen& v) {
  j = {{"stream_id", v.stream_id},
       {"kind", v.kind},
       {"instance_id", v.instance_id},
       {"params", v.params},
       {"initial_credit", v.initial_credit}};
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

void to_json(json& j, const StreamCredit& v) {
  j = {{"stream_id", v.stream_id}, {"bytes", v.bytes}};
}
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
