// init, token create, node add: one-shot commands against the database.
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "coordinator/api/api_json.h"
#include "coordinator/common/tokens.h"
#include "coordinator/main/commands.h"
#include "coordinator/store/store.h"

namespace zlh::coordinator::main {
namespace {
using nlohmann::json;

int fail(const std::string& message) {
  std::cerr << "zlh-coordinator: " << message << "\n";
  return 1;
}

/// Opens an existing database and brings its schema up to date.
proto::Result<std::unique_ptr<store::Store>> openExisting(const Config& config) {
  auto s = store::openStore(config.database.url, {});
  if (!s) return s.error();
  if (auto st = (*s)->migrate(); !st) return st.error();
  return std::move(*s);
}

proto::Status makeParentDir(const std::string& url) {
  auto parsed = store::parseDatabaseUrl(url);
  if (!parsed) return parsed.error();
  std::filesystem::path parent = std::filesystem::path(parsed->path).parent_path();
  if (parent.empty()) return {};
  std::error_code ec;
  if (std::filesystem::exists(parent, ec)) return {};
  std::filesystem::create_directories(parent, ec);
  if (ec) return proto::makeError(proto::ErrorCode::kUnavailable, "create " + parent.string() + ": " + ec.message());
  ::chmod(parent.c_str(), 0750);
  return {};
}
}  // namespace

void setupLogging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("zlh-coordinator");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  spdlog::set_level(spdlog::level::from_str(level));
}

int runInit(const Config& config, bool as_json) {
  auto exists = store::databaseExists(config.database.url);
  if (!exists) return fail(exists.error().message);
  // Never the URL as written: it may carry a password.
  std::string name = store::redactDatabaseUrl(config.database.url);
  if (*exists)
    return fail("database " + name +
                " already exists; refusing to initialise it again (it may hold users and nodes)");
  if (auto st = makeParentDir(config.database.url); !st) return fail(st.error().message);
  auto s = store::openStore(config.database.url, {.create = true});
  if (!s) return fail(s.error().message);
  if (auto st = (*s)->migrate(); !st) return fail(st.error().message);
  std::string token = common::newToken();
  auto admin = (*s)->createUserWithToken({"admin", store::Role::kAdmin}, common::hashToken(token));
  if (!admin) return fail(admin.error().message);
  if (as_json) {
    std::cout << json{{"user_id", admin->first.id}, {"token", token}}.dump() << std::endl;
  } else {
    std::cout << "Initialised database " << name << " (schema version "
              << (*s)->latestSchemaVersion() << ").\n"
              << "Created user admin (" << admin->first.id << ", role admin).\n"
              << "Its token is shown once; keep it safe:\n\n  " << token << "\n"
              << std::endl;
  }
  return 0;
}

int runTokenCreate(const Config& config, const std::string& role, const std::string& name, bool as_json) {
  auto parsed_role = store::parseRole(role);
  if (!parsed_role) return fail("--role must be admin, user or metrics");
  std::string user_name = name.empty() ? role + "-" + common::randomBase62(6).substr(0, 8) : name;
  if (!api::validName(user_name))
    return fail("--name must be 1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit");
  auto s = openExisting(config);
  if (!s) return fail(s.error().message);
  std::string token = common::newToken();
  auto created = (*s)->createUserWithToken({user_name, *parsed_role}, common::hashToken(token));
  if (!created) return fail(created.error().message);
  if (as_json) {
    std::cout << json{{"user_id", created->first.id}, {"role", role}, {"token", token}}.dump() << std::endl;
  } else {
    std::cout << "Created user " << user_name << " (" << created->first.id << ", role " << role
              << ").\nIts token is shown once; keep it safe:\n\n  " << token << "\n" << std::endl;
  }
  return 0;
}

int runNodeAdd(const Config& config, const std::string& name, bool as_json) {
  if (!api::validName(name)) return fail("NAME must be 1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit");
  auto s = openExisting(config);
  if (!s) return fail(s.error().message);
  std::string token = common::newToken();
  auto created = (*s)->createNodeWithToken(name, common::hashToken(token));
  if (!created) return fail(created.error().message);
  const auto& node = created->first;
  if (as_json) {
    std::cout << json{{"node", {{"id", node.id}, {"name", node.name}}}, {"token", token}}.dump()
              << std::endl;
  } else {
    std::cout << "Registered node " << node.name << " (" << node.id << ").\n"
              << "Its agent token is shown once. On the node, write it to /etc/zlh-agent/node.token\n"
              << "(mode 0600) and set in /etc/zlh-agent/agent.toml:\n\n"
              << "  node_id = \"" << node.id << "\"\n\n"
              << "Token:\n\n  " << token << "\n"
              << std::endl;
  }
  return 0;
}

}  // namespace zlh::coordinator::main
