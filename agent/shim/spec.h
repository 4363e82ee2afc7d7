#pragma once
// The shim's spec file: written by the agent, read once at start (README.md, "Spec").
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agent/shim/shim_protocol.h"

namespace zlh::agent::shim {

/// cgroup v2 limits; 0 means no limit.
struct Limits {
  uint64_t memory_max_bytes = 0;
  uint32_t cpu_max_pct = 0;  ///< percent of one CPU: 250 = two and a half cores
  uint64_t pids_max = 0;

  bool any() const { return memory_max_bytes != 0 || cpu_max_pct != 0 || pids_max != 0; }
};

struct ShimSpec {
  std::string instance_id;
  std::vector<std::string> command;
  std::string cwd = "/";
  std::map<std::string, std::string> env;
  std::string socket;
  std::string console_log;
  uint64_t console_log_max_bytes = 8 * 1024 * 1024;
  uint64_t scrollback_bytes = 256 * 1024;
  std::string exit_record;
  std::string pid_file;
  uint16_t cols = 120;
  uint16_t rows = 40;
  uint32_t stop_grace_s = 10;
  Limits limits;
  std::string cgroup_root = "/sys/fs/cgroup";
  std::string cgroup_name;  ///< default "zlh-<instance_id>"

  /// shim.log beside the console log.
  std::string shimLogPath() const;
  /// The lock file that makes one shim per socket: "<socket>.lock".
  std::string lockPath() const { return socket + ".lock"; }
};

/// Validates shape and ranges (no file system access). Unknown keys are errors.
Result<ShimSpec> parseSpec(const nlohmann::json& j);
/// Checks what the file system must provide: cwd is a directory, the directories of socket,
/// console_log, exit_record and pid_file exist.
Status checkSpecPaths(const ShimSpec& spec);
/// Reads, parses and checks a spec file; every error names the file and the key.
Result<ShimSpec> loadSpec(const std::string& path);

}  // namespace zlh::agent::shim
