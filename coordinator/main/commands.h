#pragma once
// The subcommands of zlh-coordinator. Each returns the process exit code.
#include <string>

#include "coordinator/main/config.h"

namespace zlh::coordinator::main {

/// Logs to stderr (stdout carries --json output), UTC timestamps.
void setupLogging(const std::string& level);

int runServe(const Config& config);
int runInit(const Config& config, bool json);
int runTokenCreate(const Config& config, const std::string& role, const std::string& name, bool json);
int runNodeAdd(const Config& config, const std::string& name, bool json);

}  // namespace zlh::coordinator::main
