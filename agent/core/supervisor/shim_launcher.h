#pragma once
// Blocking helpers of the supervisor (run on the pool or at start-up, never on the loop):
// running `zlh-shim --spec FILE` and probing a shim's socket.
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "agent/sdk/result.h"

namespace zlh::agent::core {

struct LaunchOutcome {
  int exit_code = -1;  ///< the launcher's (agent/shim/README.md): 0 serving, 1, 2, 3
  std::string stderr_text;
};

/// Runs the launcher with stdin/stdout on /dev/null, stderr captured (first 16 KiB), and no
/// other descriptor of the agent inherited. Kills it after `timeout`. Error only when it could
/// not be run or was killed.
sdk::Result<LaunchOutcome> runShimLauncher(const std::filesystem::path& shim_path,
                                           const std::filesystem::path& spec_file,
                                           std::chrono::milliseconds timeout);

/// Connects to `socket` and asks STATUS. Unavailable when nothing answers.
sdk::Result<nlohmann::json> probeShim(const std::filesystem::path& socket,
                                      std::chrono::milliseconds timeout);

/// Default shim binary: the directory of /proc/self/exe + "/zlh-shim".
std::filesystem::path defaultShimPath();

}  // namespace zlh::agent::core
