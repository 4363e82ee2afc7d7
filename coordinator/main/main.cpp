// zlh-coordinator [--config FILE] serve | init | token create | node add (docs/configuration.md).
#include <CLI/CLI.hpp>

#include <iostream>

#include "coordinator/common/version.h"
#include "coordinator/main/commands.h"
#include "coordinator/main/config.h"

using namespace zlh::coordinator;

int main(int argc, char** argv) {
  CLI::App app{"zlh-coordinator: control plane of zlh nodes and agents"};
  app.set_version_flag("--version", std::string(common::version()));
  app.require_subcommand(1);
  app.fallthrough();
  std::string config_path = main::kDefaultConfigPath;
  auto* config_opt = app.add_option("--config", config_path, "configuration file")
                         ->capture_default_str();

  auto* serve = app.add_subcommand("serve", "run the server");
  bool json = false;
  auto* init = app.add_subcommand("init", "create the database and the admin user; print its token once");
  init->add_flag("--json", json, "print one JSON object");

  auto* token = app.add_subcommand("token", "API tokens");
  token->require_subcommand(1);
  auto* token_create = token->add_subcommand("create", "create a user with a role and print its token once");
  std::string role, name;
  token_create->add_option("--role", role, "admin, user or metrics")
      ->required()
      ->check(CLI::IsMember({"admin", "user", "metrics"}));
  token_create->add_option("--name", name, "user name (default <role>-<random>)");
  token_create->add_flag("--json", json, "print one JSON object");

  auto* node = app.add_subcommand("node", "nodes");
  node->require_subcommand(1);
  auto* node_add = node->add_subcommand("add", "register a node and print its agent token once");
  std::string node_name;
  node_add->add_option("NAME", node_name, "node name")->required();
  node_add->add_flag("--json", json, "print one JSON object");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }

  auto config = main::loadConfig(config_path, config_opt->count() > 0);
  if (!config) {
    std::cerr << "zlh-coordinator: " << config.error().message << "\n";
    return 2;
  }
  main::setupLogging(config->log.level);
  if (serve->parsed()) return main::runServe(*config);
  if (init->parsed()) return main::runInit(*config, json);
  if (token_create->parsed()) return main::runTokenCreate(*config, role, name, json);
  if (node_add->parsed()) return main::runNodeAdd(*config, node_name, json);
  return 2;
}
