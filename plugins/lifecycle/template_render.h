#pragma once
// `{{name}}` substitution in template strings. No logic, no escapes: a variable is replaced by
// its value, an unknown one is an error (templates are checked when they are loaded, so this only
// fails for values missing at render time, e.g. fixtures_dir not configured).
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "agent/sdk/result.h"

namespace zlh::plugins::lifecycle {

/// Variables of one instance: id, name, host, port, data_dir, memory_mb, disk_mb, cpu_pct,
/// fixtures_dir and params.NAME.
using RenderVars = std::map<std::string, std::string, std::less<>>;

/// Names a template may reference besides params.NAME.
const std::vector<std::string>& builtinVariables();

/// Replaces every `{{ name }}` (spaces around the name allowed). InvalidArgument for an unknown
/// variable or an unterminated `{{`.
agent::sdk::Result<std::string> render(std::string_view text, const RenderVars& vars);
agent::sdk::Result<std::vector<std::string>> renderAll(const std::vector<std::string>& texts,
                                                       const RenderVars& vars);

/// The variable names referenced by `text`, in order; InvalidArgument for an unterminated `{{`
/// or an empty / malformed name.
agent::sdk::Result<std::vector<std::string>> referencedVariables(std::string_view text);

}  // namespace zlh::plugins::lifecycle
