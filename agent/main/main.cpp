// zlh-agent: the node agent. Parses the command line, loads the config (errors: exit 2) and runs.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "agent/core/agent.h"
#include "agent/core/config/agent_config.h"
#include "agent/core/log/log.h"
#include "agent/main/builtin_plugins.h"

#ifndef ZLH_VERSION
#define ZLH_VERSION "0.0.0"
#endif

namespace {
constexpr int kExitConfig = 2;
}

int main(int argc, char** argv) {
  std::string config_file = zlh::agent::core::kDefaultConfigFile;
  bool check_only = false;
  bool version = false;
  CLI::App app{"zlh-agent: node agent of the zlh platform (dials out to zlh-coordinator)"};
  app.add_option("--config", config_file, "Config file")->capture_default_str();
  app.add_flag("--check-config", check_only,
               "Validate the config, then exit 0 (or 2 with the error)");
  app.add_flag("--version", version, "Print the version and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitConfig;
  }
  if (version) {
    std::cout << "zlh-agent " << ZLH_VERSION << "\n";
    return 0;
  }

  auto factories = zlh::agent::builtinPlugins();
  zlh::agent::core::AgentOptions options;
  for (const auto& f : factories) options.builtins.push_back(f.get());
  auto config = zlh::agent::core::loadAgentConfig(config_file, options.builtins);
  if (!config.ok()) {
    std::cerr << "zlh-agent: " << config.error().message << "\n";
    return kExitConfig;
  }
  if (check_only) {
    std::cout << config_file << ": ok\n";
    return 0;
  }
  std::signal(SIGPIPE, SIG_IGN);
  options.config = std::move(config.value());
  options.version = ZLH_VERSION;
  zlh::agent::core::setupLogging(options.config.log_level);
  try {
    return zlh::agent::core::runAgent(options);
  } catch (const std::exception& e) {  // a bug or a start-up failure: fatal, with its reason
    spdlog::critical("fatal: {}", e.what());
    return 1;
  }
}
