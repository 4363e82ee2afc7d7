#pragma once
// Where an instance's shim files live, and the shim spec the agent writes (agent/shim/README.md).
//   runtime (lost at reboot):  <runtime_dir>/instances/<id>/{shim.sock, shim.sock.lock, shim.pid,
//   spec.json} persistent:                <state.dir>/instances/<id>/{console.log, shim.log,
//   exit.json}
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "agent/sdk/supervisor.h"

namespace zlh::agent::core {

/// Longest unix socket path (sun_path is 108 bytes with its NUL).
inline constexpr size_t kMaxSocketPathBytes = 107;

struct ShimPaths {
  std::filesystem::path runtime_dir;  ///< <runtime_dir>/instances/<id>
  std::filesystem::path socket;
  std::filesystem::path pid_file;
  std::filesystem::path spec_file;
  std::filesystem::path state_dir;  ///< <state.dir>/instances/<id>
  std::filesystem::path console_log;
  std::filesystem::path exit_record;
};

struct ShimLayout {
  std::filesystem::path state_dir;    ///< [state] dir
  std::filesystem::path runtime_dir;  ///< [state] runtime_dir

  std::filesystem::path runtimeInstancesDir() const { return runtime_dir / "instances"; }
  ShimPaths paths(const std::string& instance_id) const;
  /// InvalidArgument when the socket path is too long for a unix socket.
  sdk::Status checkSocketPath(const std::string& instance_id) const;
};

/// The spec file's JSON for `spec` (unknown keys are errors to the shim: keep to its table).
nlohmann::json shimSpecJson(const std::string& instance_id, const sdk::ProcessSpec& spec,
                            const ShimPaths& paths);

/// STATUS_REPLY json -> ProcessStatus.
sdk::ProcessStatus processStatusFromJson(const nlohmann::json& j);

}  // namespace zlh::agent::core
