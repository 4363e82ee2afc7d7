#pragma once
// `[plugins.lifecycle]`: schema and typed values (docs/templates.md, "Plugin configuration").
#include <cstdint>
#include <filesystem>
#include <string>

#include "agent/sdk/config_schema.h"
#include "agent/sdk/result.h"
#include "plugins/lifecycle/port_allocator.h"

namespace zlh::plugins::lifecycle {

struct LifecycleConfig {
  std::filesystem::path templates_dir = "/usr/share/zlh-agent/templates";
  std::filesystem::path fixtures_dir;  ///< {{fixtures_dir}}; empty = not configured
  std::string public_host = "127.0.0.1";
  std::string bind_host;  ///< {{host}}; empty = public_host
  PortRange port_range;
  uint32_t install_timeout_s = 1800;  ///< cap on any template's [install] timeout_s
  uint32_t start_timeout_s = 60;      ///< spawn -> shim serving
  uint32_t kill_timeout_s = 15;       ///< SIGKILL -> exit seen
  uint64_t max_artifact_bytes = 4ull << 30;
  uint32_t usage_interval_s = 10;        ///< CPU/memory of instance processes: sampled this often
  uint32_t disk_usage_interval_s = 300;  ///< instance dir sizes: walked this often
  std::string procfs = "/proc";
  std::string path_env = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

  const std::string& listenHost() const { return bind_host.empty() ? public_host : bind_host; }
};

agent::sdk::ConfigSchema lifecycleConfigSchema();

/// Typed config from validated values; InvalidArgument "<key>: <reason>" for values the schema
/// cannot check (port_range syntax).
agent::sdk::Result<LifecycleConfig> lifecycleConfigFrom(const agent::sdk::ConfigValues& values);

}  // namespace zlh::plugins::lifecycle
