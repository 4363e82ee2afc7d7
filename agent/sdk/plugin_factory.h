#pragma once
/// @file
/// A plugin's description: name, config schema and a way to create it (Envoy's factory split).
/// Built-in factories are listed explicitly, one line per plugin, in agent/main.
#include <memory>
#include <string_view>

#include "agent/sdk/config_schema.h"
#include "agent/sdk/plugin.h"
#include "agent/sdk/plugin_context.h"
#include "agent/sdk/result.h"

namespace zlh::agent::sdk {

class PluginFactory {
 public:
  virtual ~PluginFactory() = default;

  /// Short lowercase name: the `[plugins] enabled` entry, the `[plugins.<name>]` table, the
  /// prefix of its job kinds and log lines.
  virtual std::string_view name() const = 0;
  virtual std::string_view description() const = 0;
  /// Keys of `[plugins.<name>]`; the core validates the table before create().
  virtual const ConfigSchema& configSchema() const = 0;

  /// Creates the plugin with its validated config. `context` outlives the plugin.
  virtual Result<std::unique_ptr<Plugin>> create(const ConfigValues& config,
                                                 PluginContext& context) const = 0;
};

}  // namespace zlh::agent::sdk
