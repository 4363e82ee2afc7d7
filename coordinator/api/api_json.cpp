#include "coordinator/api/api_json.h"

namespace zlh::coordinator::api {
namespace {
using nlohmann::json;
using proto::ErrorCode;
using proto::makeError;
}  // namespace

proto::Result<json> parseBody(const Request& request, bool required) {
  bool blank = request.body.find_first_not_of(" \t\r\n") == std::string::npos;
  if (blank) {
    if (required) return makeError(ErrorCode::kInvalidArgument, "request body must be a JSON object");
    return json::object();
  }
  // Depth-limited like the link codec: a nesting bomb is refused while parsing.
  bool too_deep = false;
  json::parser_callback_t cb = [&](int depth, json::parse_event_t, json&) {
    if (depth > 32) too_deep = true;
    return !too_deep;
  };
  json body = json::parse(request.body, cb, /*allow_exceptions=*/false);
  if (too_deep) return makeError(ErrorCode::kInvalidArgument, "request body nested too deeply");
  if (body.is_discarded()) return makeError(ErrorCode::kInvalidArgument, "request body is not valid JSON");
  if (!body.is_object()) return makeError(ErrorCode::kInvalidArgument, "request body must be a JSON object");
  return body;
}

bool validName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-'))) return false;
  }
  return true;
}

proto::Result<std::optional<std::string>> optString(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::optional<std::string>{};
  if (!it->is_string()) return makeError(ErrorCode::kInvalidArgument, std::string(key) + " must be a string");
  return std::optional<std::string>{it->get<std::string>()};
}

json userJson(const store::User& user) {
  return {{"id", user.id},
          {"name", user.name},
          {"role", store::toString(user.role)},
          {"created_at", common::formatRfc3339(user.created_at)}};
}

json nodeJson(const store::Node& node, bool online) {
  json j = {{"id", node.id},
            {"name", node.name},
            {"status", online ? "online" : "offline"},
            {"created_at", common::formatRfc3339(node.created_at)},
            {"last_seen", nullptr},
            {"version", nullptr},
            {"capacity", nullptr},
            {"metrics_url", nullptr},
            {"plugins", node.plugins}};
  if (node.last_seen) j["last_seen"] = common::formatRfc3339(*node.last_seen);
  if (node.version) j["version"] = *node.version;
  if (node.capacity) j["capacity"] = *node.capacity;
  if (node.metrics_url) j["metrics_url"] = *node.metrics_url;
  return j;
}

json instanceJson(const store::Instance& i) {
  return {{"id", i.id},
          {"name", i.name},
          {"owner", i.owner_id},
          {"template", i.template_name},
          {"node_id", i.node_id},
          {"state", i.publicState()},
          {"desired_state", i.desired_state},
          {"unresponsive", i.unresponsive},
          {"address", i.address ? json(*i.address) : json(nullptr)},
          {"state_version", i.state_version},
          {"created_at", common::formatRfc3339(i.created_at)},
          {"updated_at", common::formatRfc3339(i.updated_at)}};
}

json operationJson(const store::Operation& op) {
  json error = nullptr;
  if (op.error) error = {{"code", proto::toWire(op.error->code)}, {"message", op.error->message}};
  return {{"id", op.id},
          {"kind", store::toString(op.kind)},
          {"state", store::toString(op.state)},
          {"instance_id", op.instance_id},
          {"attempts", op.attempts},
          {"error", error},
          {"created_at", common::formatRfc3339(op.created_at)},
          {"updated_at", common::formatRfc3339(op.updated_at)},
          {"deadline", op.deadline ? json(common::formatRfc3339(*op.deadline)) : json(nullptr)},
          {"overdue", op.overdue(common::now())}};
}

json eventJson(const store::InstanceEvent& e) {
  return {{"type", e.type}, {"at", common::formatRfc3339(e.at)}, {"body", e.body}};
}

}  // namespace zlh::coordinator::api
