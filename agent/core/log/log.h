#pragma once
// Logging: spdlog to stderr. Plugins get an sdk::Logger whose lines carry "[<plugin>] ".
#include <string>

#include "agent/sdk/logger.h"

namespace zlh::agent::core {

/// Sets up the stderr logger; `level` is one of trace|debug|info|warn|error.
void setupLogging(const std::string& level);
/// A Logger whose lines go to the agent's log prefixed with "[<prefix>] ".
sdk::Logger makePrefixedLogger(std::string prefix);

}  // namespace zlh::agent::core
