#pragma once
// Entry point of the `system` plugin for the agent's built-in plugin list.
#include <memory>

#include "agent/sdk/plugin_factory.h"

namespace zlh::plugins::system {

std::unique_ptr<agent::sdk::PluginFactory> makeFactory();

}  // namespace zlh::plugins::system
