#pragma once
// The install steps of a template, in order: files, artifacts, script. Blocking: run on the
// agent's pool. Every path stays beneath the data dir (safe_fs.h).
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>

#include "agent/sdk/result.h"
#include "plugins/lifecycle/template.h"
#include "plugins/lifecycle/template_render.h"

namespace zlh::plugins::lifecycle {

struct InstallContext {
  std::filesystem::path data_dir;
  RenderVars vars;
  uint32_t timeout_s = 1800;  ///< the whole install
  std::map<std::string, std::string> script_env;
  uint64_t max_artifact_bytes = 4ull << 30;
  std::function<bool()> cancelled;
  std::function<void(std::string)> progress;
};

/// Errors carry the step: "install.files[0] (eula.txt): path ... escapes the instance's data
/// dir", "install.artifacts[0] (server.jar): download ...: sha256 mismatch: expected X, got Y",
/// "install.script: script sh exited with code 1; last output: ...".
agent::sdk::Status runInstall(const InstallSpec& spec, const InstallContext& ctx);

}  // namespace zlh::plugins::lifecycle
