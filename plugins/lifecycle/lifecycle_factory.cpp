// Factory and `[plugins.lifecycle]` config of the lifecycle plugin.
#include <cstdlib>

#include "plugins/lifecycle/factory.h"
#include "plugins/lifecycle/lifecycle_config.h"
#include "plugins/lifecycle/lifecycle_plugin.h"

namespace zlh::plugins::lifecycle {
namespace sdk = agent::sdk;

namespace {

class LifecycleFactory : public sdk::PluginFactory {
 public:
  std::string_view name() const override { return "lifecycle"; }
  std::string_view description() const override {
    return "Instance lifecycle: templates, install, start/stop/restart/kill/delete, readiness, "
           "hang detection, crash and restart policy";
  }
  const sdk::ConfigSchema& configSchema() const override { return schema_; }
  sdk::Result<std::unique_ptr<sdk::Plugin>> create(const sdk::ConfigValues& values,
                                                   sdk::PluginContext& ctx) const override {
    auto config = lifecycleConfigFrom(values);
    if (!config.ok()) return config.error();
    return std::unique_ptr<sdk::Plugin>(std::make_unique<LifecyclePlugin>(ctx, *config));
  }

 private:
  sdk::ConfigSchema schema_ = lifecycleConfigSchema();
};

}  // namespace

sdk::ConfigSchema lifecycleConfigSchema() {
  sdk::ConfigSchema s;
  s.addString("templates_dir", "Directory of template files (<name>.toml)",
              "/usr/share/zlh-agent/templates");
  s.addString("fixtures_dir", "Value of {{fixtures_dir}} (test fixtures; empty = unset)", "");
  s.addString("public_host", "Host in instance addresses (host:port) and default listen host",
              "127.0.0.1");
  s.addString("bind_host", "Value of {{host}}: where instances listen (empty = public_host)", "");
  s.addString("port_range", "Game ports handed out to instances, FIRST-LAST", "25565-25664");
  s.addInt("install_timeout_s", "Cap on any template's install timeout", 1800).range(1, 86400);
  s.addInt("start_timeout_s", "How long a spawn may take before the start fails", 60)
      .range(1, 3600);
  s.addInt("kill_timeout_s", "How long to wait for an exit after SIGKILL", 15).range(1, 600);
  s.addInt("max_artifact_mb", "Largest install artifact downloaded", 4096).range(1, 1 << 20);
  s.addInt("usage_interval_s", "How often instance CPU and memory are sampled (metrics)", 10)
      .range(1, 3600);
  s.addInt("disk_usage_interval_s", "How often instance directory sizes are measured (metrics)",
           300)
      .range(10, 86400);
  return s;
}

sdk::Result<LifecycleConfig> lifecycleConfigFrom(const sdk::ConfigValues& v) {
  LifecycleConfig c;
  c.templates_dir = v.getString("templates_dir");
  c.fixtures_dir = v.getString("fixtures_dir");
  c.public_host = v.getString("public_host");
  c.bind_host = v.getString("bind_host");
  auto range = parsePortRange(v.getString("port_range"));
  if (!range.ok()) return range.error();
  c.port_range = *range;
  c.install_timeout_s = uint32_t(v.getInt("install_timeout_s"));
  c.start_timeout_s = uint32_t(v.getInt("start_timeout_s"));
  c.kill_timeout_s = uint32_t(v.getInt("kill_timeout_s"));
  c.max_artifact_bytes = uint64_t(v.getInt("max_artifact_mb")) << 20;
  c.usage_interval_s = uint32_t(v.getInt("usage_interval_s"));
  c.disk_usage_interval_s = uint32_t(v.getInt("disk_usage_interval_s"));
  if (c.public_host.empty())
    return sdk::makeError(sdk::ErrorCode::kInvalidArgument, "public_host: must not be empty");
  if (const char* path = std::getenv("PATH"); path && *path) c.path_env = path;
  return c;
}

std::unique_ptr<sdk::PluginFactory> makeFactory() { return std::make_unique<LifecycleFactory>(); }

}  // namespace zlh::plugins::lifecycle
