#pragma once
// Entry point of the `metrics` plugin for the agent's built-in plugin list.
#include <memory>

#include "agent/sdk/plugin_factory.h"

namespace zlh::plugins::metrics {

std::unique_ptr<agent::sdk::PluginFactory> makeFactory();

}  // namespace zlh::plugins::metrics
