#pragma once
// Validation of instance requests (docs/api.md "Instances"). Every error names the field.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "proto/v1/result.h"

namespace zlh::coordinator::api {

/// POST /api/v1/instances, parsed.
struct CreateInstanceRequest {
  std::string name;
  std::string template_name;
  bool start = true;
  std::optional<std::string> node;
  std::optional<std::string> owner;
  nlohmann::json resources = nlohmann::json::object();
  nlohmann::json env = nlohmann::json::object();
  nlohmann::json params = nlohmann::json::object();

  /// The lifecycle.create job params: {template, name, params, env, resources, start}.
  nlohmann::json jobParams() const;
};

proto::Result<CreateInstanceRequest> parseCreateInstance(const nlohmann::json& body);

/// "start" | "stop" | "restart" | "kill" from {"action": ...}.
proto::Result<std::string> parsePowerAction(const nlohmann::json& body);

/// Idempotency-Key: 1-255 visible ASCII characters.
bool validIdempotencyKey(const std::string& key);

/// Instance names: 1-64 of A-Z a-z 0-9 space _ . -
bool validInstanceName(const std::string& name);

}  // namespace zlh::coordinator::api
