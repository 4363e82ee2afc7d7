#pragma once
// Checks an event a plugin emits: an agent -> coordinator event type of proto/v1 with a body of
// that type's shape. Pure; any thread.
#include <nlohmann/json.hpp>
#include <string>

#include "agent/sdk/result.h"

namespace zlh::agent::core {

/// The encoded envelope, or invalid_argument naming the type and the problem.
sdk::Result<std::string> encodeEvent(const std::string& type, const nlohmann::json& body);

}  // namespace zlh::agent::core
