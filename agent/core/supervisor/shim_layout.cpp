#include "agent/core/supervisor/shim_layout.h"

namespace zlh::agent::core {
namespace fs = std::filesystem;

ShimPaths ShimLayout::paths(const std::string& id) const {
  ShimPaths p;
  p.runtime_dir = runtimeInstancesDir() / id;
  p.socket = p.runtime_dir / "shim.sock";
  p.pid_file = p.runtime_dir / "shim.pid";
  p.spec_file = p.runtime_dir / "spec.json";
  p.state_dir = state_dir / "instances" / id;
  p.console_log = p.state_dir / "console.log";
  p.exit_record = p.state_dir / "exit.json";
  return p;
}

sdk::Status ShimLayout::checkSocketPath(const std::string& id) const {
  auto socket = paths(id).socket.string();
  // The shim also takes "<socket>.lock"; the socket itself is what sun_path limits.
  if (socket.size() > kMaxSocketPathBytes)
    return sdk::makeError(
        sdk::ErrorCode::kInvalidArgument,
        "instance " + id + ": shim socket path " + socket + " is " + std::to_string(socket.size()) +
            " bytes, over the unix socket limit of " + std::to_string(kMaxSocketPathBytes) +
            ": use a shorter [state] runtime_dir");
  return {};
}

nlohmann::json shimSpecJson(const std::string& id, const sdk::ProcessSpec& spec,
                            const ShimPaths& paths) {
  nlohmann::json env = nlohmann::json::object();
  for (const auto& [k, v] : spec.env) env[k] = v;
  nlohmann::json j = {
      {"instance_id", id},
      {"command", spec.command},
      {"cwd", spec.cwd.empty() ? std::string("/") : spec.cwd.string()},
      {"env", env},
      {"socket", paths.socket.string()},
      {"console_log", paths.console_log.string()},
      {"exit_record", paths.exit_record.string()},
      {"pid_file", paths.pid_file.string()},
      {"cols", spec.cols},
      {"rows", spec.rows},
      {"stop_grace_s", spec.stop_grace_s},
      {"limits",
       {{"memory_max_bytes", spec.memory_max_bytes},
        {"cpu_max_pct", spec.cpu_max_pct},
        {"pids_max", spec.pids_max}}},
  };
  return j;
}

sdk::ProcessStatus processStatusFromJson(const nlohmann::json& j) {
  sdk::ProcessStatus s;
  if (!j.is_object()) return s;
  auto num = [&](const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_number_integer() ? it->get<int>() : 0;
  };
  auto running = j.find("running");
  s.running = running != j.end() && running->is_boolean() && running->get<bool>();
  s.shim_pid = num("shim_pid");
  s.child_pid = num("child_pid");
  if (auto it = j.find("started_at"); it != j.end() && it->is_string()) s.started_at = *it;
  if (auto it = j.find("limits"); it != j.end() && it->is_object()) s.limits = *it;
  return s;
}

}  // namespace zlh::agent::core
