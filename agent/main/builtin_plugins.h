#pragma once
// The plugins compiled into zlh-agent. The list is generated from ZLH_AGENT_BUILTIN_PLUGINS in
// agent/main/CMakeLists.txt (builtin_plugins.cpp.in): one line per plugin, no static initialisers.
#include <memory>
#include <vector>

#include "agent/sdk/plugin_factory.h"

namespace zlh::agent {

std::vector<std::unique_ptr<sdk::PluginFactory>> builtinPlugins();

}  // namespace zlh::agent
