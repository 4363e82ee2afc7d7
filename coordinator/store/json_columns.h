#pragma once
// How both engines store JSON and error columns (TEXT). Private to the engines.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "proto/v1/error.h"

namespace zlh::coordinator::store::columns {

/// A JSON column; `fallback` when it does not parse (it always should: we wrote it).
nlohmann::json jsonColumn(const std::string& text, nlohmann::json fallback);
/// An error column ({"code","message"}) or none.
std::optional<proto::Error> errorColumn(const std::optional<std::string>& text);
std::optional<std::string> errorText(const std::optional<proto::Error>& error);
/// JSON as stored: compact, invalid UTF-8 replaced.
std::string dumpJson(const nlohmann::json& j);

}  // namespace zlh::coordinator::store::columns
