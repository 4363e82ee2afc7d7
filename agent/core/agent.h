#pragma once
// The agent process: wires config, loop, plugins, job router, link, transport and the read-only
// HTTP surface, and runs until SIGTERM/SIGINT.
#include <string>
#include <vector>

#include "agent/core/config/agent_config.h"
#include "agent/sdk/plugin_factory.h"

namespace zlh::agent::core {

struct AgentOptions {
  AgentConfig config;
  std::string version;
  std::vector<const sdk::PluginFactory*> builtins;
};

/// Runs the agent until SIGTERM/SIGINT. Returns the exit code: 0 after a clean stop, 1 when it
/// cannot start (state dir, listen address).
int runAgent(const AgentOptions& options);

}  // namespace zlh::agent::core
