#pragma once
// The agent's config file (docs/configuration.md). Errors read "<file>: <key>: <reason>";
// main prints them after "zlh-agent: " and exits 2.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "agent/core/config/ws_url.h"
#include "agent/sdk/config_schema.h"
#include "agent/sdk/plugin_factory.h"
#include "agent/sdk/result.h"

namespace zlh::agent::core {

inline constexpr const char* kDefaultConfigFile = "/etc/zlh-agent/agent.toml";
/// `[plugins] enabled` when the key is absent: these, where built in.
inline constexpr const char* kDefaultPlugins[] = {"system", "lifecycle", "console", "metrics"};

struct AgentConfig {
  std::filesystem::path file;
  std::string node_id;

  struct Coordinator {
    std::string url_text;
    WsUrl url;
    std::filesystem::path token_file;
    std::string token;  // secret: never log
    std::string ca_file;
    bool insecure = false;
    int64_t backoff_initial_ms = 500;
    int64_t backoff_max_ms = 30000;
  } coordinator;

  struct Metrics {
    HostPort listen;
    std::string advertise_url;  // empty: http://<listen>/metrics
  } metrics;

  /// `[capacity]`: what hello reports instead of what was measured (0: measured).
  struct Capacity {
    uint64_t memory_bytes = 0;
    uint64_t disk_bytes = 0;
  } capacity;

  std::filesystem::path state_dir;
  std::filesystem::path runtime_dir;
  /// zlh-shim binary ([agent] shim_path); default: zlh-shim beside the agent's executable.
  std::filesystem::path shim_path;
  std::string log_level = "info";
  std::vector<std::string> enabled_plugins;
  /// Validated `[plugins.<name>]` tables of every built-in plugin (defaults when absent).
  std::map<std::string, sdk::ConfigValues> plugin_configs;
};

/// The agent's own keys (dotted), shared by the loader and --help style docs.
const sdk::ConfigSchema& agentConfigSchema();

/// Loads and validates `file`. `builtins` are the plugin factories compiled in (for names and
/// the schemas of `[plugins.<name>]`). The error message is "<file>: <key>: <reason>".
sdk::Result<AgentConfig> loadAgentConfig(const std::filesystem::path& file,
                                         const std::vector<const sdk::PluginFactory*>& builtins);

/// Reads the token file: must exist, be a regular file without group/other permission bits, and
/// hold a non-empty token (surrounding whitespace trimmed). Error: reason only.
sdk::Result<std::string> readTokenFile(const std::filesystem::path& path);

}  // namespace zlh::agent::core
