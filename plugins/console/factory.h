#pragma once
// Entry point of the `console` plugin for the agent's built-in plugin list.
#include <memory>

#include "agent/sdk/plugin_factory.h"

namespace zlh::plugins::console {

std::unique_ptr<agent::sdk::PluginFactory> makeFactory();

}  // namespace zlh::plugins::console
