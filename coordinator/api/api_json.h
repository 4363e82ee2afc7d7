#pragma once
// Request body checks and resource shapes of the API.
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "coordinator/api/http.h"
#include "coordinator/store/instance_types.h"
#include "coordinator/store/types.h"
#include "proto/v1/result.h"

namespace zlh::coordinator::api {

/// The body as a JSON object; an empty body is {} unless `required`.
proto::Result<nlohmann::json> parseBody(const Request& request, bool required);

/// Names of users and nodes: 1-64 of [A-Za-z0-9._-], starting with a letter or digit.
bool validName(const std::string& name);

/// body[key] as a string, nullopt when absent or null; InvalidArgument when of another type.
proto::Result<std::optional<std::string>> optString(const nlohmann::json& body, const char* key);

nlohmann::json userJson(const store::User& user);
nlohmann::json nodeJson(const store::Node& node, bool online);
/// id, name, owner, template, node_id, state, desired_state, unresponsive, address, created_at,
/// updated_at, state_version.
nlohmann::json instanceJson(const store::Instance& instance);
/// id, kind, state, instance_id, attempts, error (null or {code, message}), created_at, updated_at.
nlohmann::json operationJson(const store::Operation& op);
/// type, at, body.
nlohmann::json eventJson(const store::InstanceEvent& event);

}  // namespace zlh::coordinator::api
