#include "coordinator/api/instance_request.h"

#include <set>

namespace zlh::coordinator::api {
namespace {
using nlohmann::json;
using proto::ErrorCode;
using proto::makeError;

constexpr size_t kMaxEnvEntries = 128;
constexpr size_t kMaxEnvValueBytes = 4096;
constexpr int64_t kMaxResource = 2147483647;

proto::Error bad(const std::string& message) {
  return makeError(ErrorCode::kInvalidArgument, message);
}

bool alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool validTemplate(const std::string& t) {
  if (t.empty() || t.size() > 64 || t[0] == '.') return false;
  for (char c : t)
    if (!alnum(c) && c != '.' && c != '_' && c != '-') return false;
  return true;
}

bool validEnvName(const std::string& k) {
  if (k.empty() || k.size() > 128 || (k[0] >= '0' && k[0] <= '9')) return false;
  for (char c : k)
    if (!alnum(c) && c != '_') return false;
  return true;
}

proto::Status checkFields(const json& body, const std::set<std::string>& known) {
  for (const auto& [k, _] : body.items())
    if (!known.count(k)) return bad("unknown field \"" + k.substr(0, 64) + "\"");
  return {};
}

proto::Result<json> parseResources(const json& r) {
  if (!r.is_object()) return bad("resources must be an object");
  for (const auto& [k, v] : r.items()) {
    if (k != "memory_mb" && k != "disk_mb" && k != "cpu_pct")
      return bad("resources." + k.substr(0, 64) +
                 " is not a known resource (memory_mb, disk_mb, cpu_pct)");
    if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > kMaxResource)
      return bad("resources." + k + " must be a positive integer");
  }
  return r;
}

proto::Result<json> parseEnv(const json& e) {
  if (!e.is_object()) return bad("env must be an object of strings");
  if (e.size() > kMaxEnvEntries)
    return bad("env has more than " + std::to_string(kMaxEnvEntries) + " entries");
  for (const auto& [k, v] : e.items()) {
    if (!validEnvName(k))
      return bad("env: \"" + k.substr(0, 64) + "\" is not a valid variable name");
    if (!v.is_string()) return bad("env." + k + " must be a string");
    const auto& s = v.get_ref<const std::string&>();
    if (s.size() > kMaxEnvValueBytes || s.find('\0') != std::string::npos)
      return bad("env." + k + " must be at most 4096 bytes without NUL");
  }
  return e;
}

proto::Result<std::optional<std::string>> optionalString(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::optional<std::string>{};
  if (!it->is_string() || it->get_ref<const std::string&>().empty())
    return bad(std::string(key) + " must be a non-empty string");
  return std::optional<std::string>{it->get<std::string>()};
}
}  // namespace

bool validInstanceName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name)
    if (!alnum(c) && c != ' ' && c != '_' && c != '.' && c != '-') return false;
  return true;
}

bool validIdempotencyKey(const std::string& key) {
  if (key.empty() || key.size() > 255) return false;
  for (char c : key)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

json CreateInstanceRequest::jobParams() const {
  return {{"template", template_name}, {"name", name},  {"params", params}, {"env", env},
          {"resources", resources},    {"start", start}};
}

proto::Result<CreateInstanceRequest> parseCreateInstance(const json& body) {
  static const std::set<std::string> known{"name",  "template",  "start", "node",
                                           "owner", "resources", "env",   "params"};
  if (auto st = checkFields(body, known); !st) return st.error();
  CreateInstanceRequest r;
  auto name = body.find("name");
  if (name == body.end() || !name->is_string() || !validInstanceName(name->get<std::string>()))
    return bad("name is required: 1-64 characters of A-Z a-z 0-9 space _ . -");
  r.name = name->get<std::string>();
  auto tmpl = body.find("template");
  if (tmpl == body.end() || !tmpl->is_string() || !validTemplate(tmpl->get<std::string>()))
    return bad("template is required: 1-64 characters of A-Z a-z 0-9 . _ -, not starting with .");
  r.template_name = tmpl->get<std::string>();
  if (auto s = body.find("start"); s != body.end() && !s->is_null()) {
    if (!s->is_boolean()) return bad("start must be a boolean");
    r.start = s->get<bool>();
  }
  auto node = optionalString(body, "node");
  if (!node) return node.error();
  r.node = *node;
  auto owner = optionalString(body, "owner");
  if (!owner) return owner.error();
  r.owner = *owner;
  if (auto it = body.find("resources"); it != body.end() && !it->is_null()) {
    auto res = parseResources(*it);
    if (!res) return res.error();
    r.resources = *res;
  }
  if (auto it = body.find("env"); it != body.end() && !it->is_null()) {
    auto env = parseEnv(*it);
    if (!env) return env.error();
    r.env = *env;
  }
  if (auto it = body.find("params"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) return bad("params must be an object");
    r.params = *it;
  }
  return r;
}

proto::Result<std::string> parsePowerAction(const json& body) {
  if (auto st = checkFields(body, {"action"}); !st) return st.error();
  auto a = body.find("action");
  if (a != body.end() && a->is_string()) {
    std::string action = a->get<std::string>();
    if (action == "start" || action == "stop" || action == "restart" || action == "kill")
      return action;
  }
  return bad("action must be one of start, stop, restart, kill");
}

}  // namespace zlh::coordinator::api
