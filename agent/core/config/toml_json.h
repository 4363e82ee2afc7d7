#pragma once
// Reads a TOML file into JSON so the SDK's ConfigSchema validates it (one mechanism for the
// agent's config and the plugins' tables). Dates and times become strings.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "agent/sdk/result.h"

namespace zlh::agent::core {

/// The error message is "<reason>" or "line L, column C: <reason>" (the caller adds the file).
sdk::Result<nlohmann::json> readTomlFile(const std::filesystem::path& file);
sdk::Result<nlohmann::json> parseToml(std::string_view text);

}  // namespace zlh::agent::core
