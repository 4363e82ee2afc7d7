#pragma once
// Runs an install script: argv (no shell) in a directory, in its own process group, output
// (stdout + stderr) collected as its last lines, killed with its whole group on timeout or
// cancellation. Blocking: run it on the agent's pool.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/sdk/result.h"

namespace zlh::plugins::lifecycle {

struct ScriptOptions {
  std::filesystem::path cwd;
  std::map<std::string, std::string> env;  ///< the whole environment of the script
  uint32_t timeout_s = 300;
  std::function<bool()> cancelled;
  size_t keep_lines = 20;
};

struct ScriptResult {
  std::optional<int> exit_code;
  std::optional<int> signal;
  bool timed_out = false;
  bool cancelled = false;
  std::vector<std::string> last_lines;
};

/// Errors only when the script cannot be started (Internal; InvalidArgument for an empty argv
/// or a command not found in PATH).
agent::sdk::Result<ScriptResult> runScript(const std::vector<std::string>& argv,
                                           const ScriptOptions& options);

/// runScript, and an error unless it exited 0: "script sh exited with code 3; last output:
/// ...", "script ... timed out after 5 s (process group killed); last output: ...".
agent::sdk::Status runScriptChecked(const std::vector<std::string>& argv,
                                    const ScriptOptions& options);

/// Looks `name` up in `path` (":"-separated) unless it contains a "/". Empty when not found.
std::string findExecutable(const std::string& name, const std::string& path);

}  // namespace zlh::plugins::lifecycle
