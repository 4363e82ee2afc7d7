#include "plugins/metrics/metrics_plugin.h"

#include <unistd.h>

#include <algorithm>

#include "plugins/metrics/factory.h"

namespace zlh::plugins::metrics {
namespace sdk = agent::sdk;

namespace {

class MetricsFactory : public sdk::PluginFactory {
 public:
  std::string_view name() const override { return "metrics"; }
  std::string_view description() const override {
    return "Node metrics with node_exporter's names (cpu, memory, load, filesystems, network, "
           "disks, pressure, uname, time) on /metrics";
  }
  const sdk::ConfigSchema& configSchema() const override { return schema_; }
  sdk::Result<std::unique_ptr<sdk::Plugin>> create(const sdk::ConfigValues& values,
                                                   sdk::PluginContext& ctx) const override {
    auto config = metricsConfigFrom(values);
    if (!config.ok()) return config.error();
    return std::unique_ptr<sdk::Plugin>(std::make_unique<MetricsPlugin>(ctx, *config));
  }

 private:
  sdk::ConfigSchema schema_ = metricsConfigSchema();
};

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

sdk::ConfigSchema metricsConfigSchema() {
  sdk::ConfigSchema s;
  NodeConfig d;
  s.addString("procfs", "procfs mount point (node_exporter --path.procfs)", d.procfs);
  s.addString("sysfs", "sysfs mount point (node_exporter --path.sysfs)", d.sysfs);
  s.addString("rootfs", "Prefix of mount points for statfs (node_exporter --path.rootfs)",
              d.rootfs);
  s.addStringList("collectors", "Node collectors to run: " + joined(allCollectorNames()),
                  allCollectorNames());
  s.addStringList("mount_points_exclude",
                  "filesystem: mount points left out; \"P\" = P and below, \"P/\" = below P only",
                  d.mount_points_exclude);
  s.addStringList("fs_types_exclude", "filesystem: file system types left out", d.fs_types_exclude);
  s.addStringList("netdev_exclude", "netdev: interfaces left out (exact names)", d.netdev_exclude);
  return s;
}

sdk::Result<NodeConfig> metricsConfigFrom(const sdk::ConfigValues& v) {
  NodeConfig c;
  c.procfs = v.getString("procfs");
  c.sysfs = v.getString("sysfs");
  c.rootfs = v.getString("rootfs");
  c.collectors = v.getStringList("collectors");
  c.mount_points_exclude = v.getStringList("mount_points_exclude");
  c.fs_types_exclude = v.getStringList("fs_types_exclude");
  c.netdev_exclude = v.getStringList("netdev_exclude");
  for (const auto* key : {&c.procfs, &c.sysfs, &c.rootfs})
    if (key->empty() || key->front() != '/')
      return sdk::makeError(sdk::ErrorCode::kInvalidArgument,
                            "procfs, sysfs, rootfs: must be absolute paths");
  const auto& all = allCollectorNames();
  for (size_t i = 0; i < c.collectors.size(); ++i) {
    const auto& name = c.collectors[i];
    if (std::find(all.begin(), all.end(), name) == all.end())
      return sdk::makeError(
          sdk::ErrorCode::kInvalidArgument,
          "collectors: unknown collector \"" + name + "\" (known: " + joined(all) + ")");
    if (std::find(c.collectors.begin(), c.collectors.begin() + long(i), name) !=
        c.collectors.begin() + long(i))
      return sdk::makeError(sdk::ErrorCode::kInvalidArgument,
                            "collectors: \"" + name + "\" listed twice");
  }
  return c;
}

sdk::Status MetricsPlugin::start() {
  if (::access((node_.config().procfs + "/stat").c_str(), R_OK) != 0)
    ctx_.log().warn("cannot read ", node_.config().procfs,
                    "/stat: node collectors will report failures");
  return {};
}

void MetricsPlugin::handleJob(const sdk::Job& job, sdk::JobReply reply) {
  reply(sdk::makeError(sdk::ErrorCode::kUnimplemented, "unknown job kind \"" + job.kind + "\""));
}

std::unique_ptr<sdk::PluginFactory> makeFactory() { return std::make_unique<MetricsFactory>(); }

}  // namespace zlh::plugins::metrics
