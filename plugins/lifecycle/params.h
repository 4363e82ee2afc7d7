#pragma once
// The create job's `params`, `env` and `resources`, checked against a template.
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "agent/sdk/result.h"
#include "plugins/lifecycle/template.h"
#include "plugins/lifecycle/template_render.h"

namespace zlh::plugins::lifecycle {

/// Checks `given` (a JSON object, or null for none) against the template's `[params]`: unknown
/// names, wrong types, out-of-range ints, strings with control characters or over max_length,
/// values outside `choices`, missing required params. Errors are InvalidArgument naming the param
/// ("params.motd: expected a string, got a number"). Returns every declared param with its value:
/// given, else the default, else "" / 0 / false.
agent::sdk::Result<nlohmann::json> resolveParams(const Template& t, const nlohmann::json& given);

/// Adds "params.NAME" -> value as text (ints in decimal, bools as true/false).
void addParamVars(const nlohmann::json& resolved, RenderVars& vars);

/// The job's `env` (object of strings; names [A-Za-z_][A-Za-z0-9_]*, no NUL in values).
agent::sdk::Result<std::map<std::string, std::string>> parseEnv(const nlohmann::json& given);

/// The job's `resources` ({"memory_mb","disk_mb","cpu_pct"}: non-negative integers) over the
/// template's defaults.
agent::sdk::Result<ResourceSpec> resolveResources(const ResourceSpec& defaults,
                                                  const nlohmann::json& given);
nlohmann::json toJson(const ResourceSpec& r);
ResourceSpec resourcesFromJson(const nlohmann::json& j, const ResourceSpec& defaults);

}  // namespace zlh::plugins::lifecycle
