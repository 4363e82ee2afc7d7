#include "plugins/lifecycle/params.h"

#include <algorithm>
#include <cctype>

namespace zlh::plugins::lifecycle {
namespace sdk = agent::sdk;
using nlohmann::json;

namespace {

sdk::Error bad(const std::string& key, const std::string& reason) {
  return sdk::makeError(sdk::ErrorCode::kInvalidArgument, key + ": " + reason);
}

std::string jsonKind(const json& v) {
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number_integer()) return "an integer";
  if (v.is_number()) return "a number";
  if (v.is_object()) return "an object";
  if (v.is_array()) return "an array";
  return "null";
}

sdk::Status checkString(const ParamSpec& p, const std::string& key, const json& v) {
  if (!v.is_string()) return bad(key, "expected a string, got " + jsonKind(v));
  const auto& s = v.get_ref<const std::string&>();
  if (s.size() > p.max_length)
    return bad(key, "longer than " + std::to_string(p.max_length) + " bytes");
  bool control = std::any_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
  if (control) return bad(key, "control characters (newline, tab, ...) are not allowed");
  if (!p.choices.empty() && std::find(p.choices.begin(), p.choices.end(), s) == p.choices.end()) {
    std::string list;
    for (const auto& c : p.choices) list += (list.empty() ? "" : ", ") + c;
    return bad(key, "must be one of " + list);
  }
  return {};
}

sdk::Status checkValue(const ParamSpec& p, const json& v) {
  std::string key = "params." + p.name;
  switch (p.type) {
    case ParamType::kString:
      return checkString(p, key, v);
    case ParamType::kBool:
      if (!v.is_boolean()) return bad(key, "expected a boolean, got " + jsonKind(v));
      return {};
    case ParamType::kInt: {
      if (!v.is_number_integer()) return bad(key, "expected an integer, got " + jsonKind(v));
      if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX))
        return bad(key, "out of range");
      int64_t n = v.get<int64_t>();
      if (p.min && n < *p.min) return bad(key, "must be at least " + std::to_string(*p.min));
      if (p.max && n > *p.max) return bad(key, "must be at most " + std::to_string(*p.max));
      return {};
    }
  }
  return {};
}

json defaultValue(const ParamSpec& p) {
  if (p.default_string) return *p.default_string;
  if (p.default_int) return *p.default_int;
  if (p.default_bool) return *p.default_bool;
  switch (p.type) {
    case ParamType::kInt:
      return 0;
    case ParamType::kBool:
      return false;
    default:
      return "";
  }
}

}  // namespace

sdk::Result<json> resolveParams(const Template& t, const json& given) {
  if (!given.is_null() && !given.is_object())
    return bad("params", "expected an object, got " + jsonKind(given));
  if (given.is_object())
    for (const auto& [name, v] : given.items())
      if (!t.findParam(name))
        return bad("params." + name, "unknown param of template \"" + t.name + "\"");
  // Values given are checked before missing ones are reported: a wrong value is the more
  // specific error.
  json out = json::object();
  for (const auto& p : t.params) {
    if (!given.is_object() || !given.contains(p.name)) continue;
    if (auto st = checkValue(p, given[p.name]); !st.ok()) return st.error();
    out[p.name] = given[p.name];
  }
  for (const auto& p : t.params) {
    if (out.contains(p.name)) continue;
    if (p.required)
      return bad("params." + p.name, "missing (required by template \"" + t.name + "\")");
    out[p.name] = defaultValue(p);
  }
  return out;
}

void addParamVars(const json& resolved, RenderVars& vars) {
  for (const auto& [name, v] : resolved.items()) {
    std::string text;
    if (v.is_string())
      text = v.get<std::string>();
    else if (v.is_boolean())
      text = v.get<bool>() ? "true" : "false";
    else
      text = v.dump();
    vars["params." + name] = std::move(text);
  }
}

sdk::Result<std::map<std::string, std::string>> parseEnv(const json& given) {
  std::map<std::string, std::string> env;
  if (given.is_null()) return env;
  if (!given.is_object()) return bad("env", "expected an object, got " + jsonKind(given));
  for (const auto& [name, v] : given.items()) {
    bool ok =
        !name.empty() && name.size() <= 128 && !std::isdigit(static_cast<unsigned char>(name[0])) &&
        std::all_of(name.begin(), name.end(),
                    [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
    if (!ok) return bad("env." + name, "bad variable name (want [A-Za-z_][A-Za-z0-9_]*)");
    if (!v.is_string()) return bad("env." + name, "expected a string, got " + jsonKind(v));
    const auto& s = v.get_ref<const std::string&>();
    if (s.find('\0') != std::string::npos || s.size() > 32768)
      return bad("env." + name, "NUL byte or longer than 32 KiB");
    env[name] = s;
  }
  return env;
}

sdk::Result<ResourceSpec> resolveResources(const ResourceSpec& defaults, const json& given) {
  ResourceSpec r = defaults;
  if (given.is_null()) return r;
  if (!given.is_object()) return bad("resources", "expected an object, got " + jsonKind(given));
  for (const auto& [name, v] : given.items()) {
    uint32_t* field = name == "memory_mb" ? &r.memory_mb
                      : name == "disk_mb" ? &r.disk_mb
                      : name == "cpu_pct" ? &r.cpu_pct
                                          : nullptr;
    if (!field) return bad("resources." + name, "unknown key (want memory_mb, disk_mb, cpu_pct)");
    if (!v.is_number_integer())
      return bad("resources." + name, "expected an integer, got " + jsonKind(v));
    if (!v.is_number_unsigned() && v.get<int64_t>() < 0)
      return bad("resources." + name, "must not be negative");
    if (v.get<uint64_t>() > 0xffffffffull) return bad("resources." + name, "out of range");
    *field = v.get<uint32_t>();
  }
  return r;
}

json toJson(const ResourceSpec& r) {
  return json{{"memory_mb", r.memory_mb},
              {"disk_mb", r.disk_mb},
              {"cpu_pct", r.cpu_pct},
              {"pids_max", r.pids_max}};
}

ResourceSpec resourcesFromJson(const json& j, const ResourceSpec& defaults) {
  ResourceSpec r = defaults;
  if (!j.is_object()) return r;
  r.memory_mb = j.value("memory_mb", r.memory_mb);
  r.disk_mb = j.value("disk_mb", r.disk_mb);
  r.cpu_pct = j.value("cpu_pct", r.cpu_pct);
  r.pids_max = j.value("pids_max", r.pids_max);
  return r;
}

}  // namespace zlh::plugins::lifecycle
