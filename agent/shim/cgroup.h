#pragma once
// Per-instance cgroup v2 limits (memory.max, cpu.max, pids.max), applied where the host allows and
// skipped with a reason where it does not (README.md, "Limits").
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "agent/shim/shim_protocol.h"
#include "agent/shim/spec.h"

namespace zlh::agent::shim {

/// Why limits cannot be applied under `root` ("" when they can): not a cgroup2 mount, a needed
/// controller not enabled in cgroup.subtree_control, or not writable.
std::string cgroupUnavailableReason(const std::string& root, const Limits& limits);
/// "<quota> 100000" for cpu.max from a percentage of one CPU.
std::string cpuMaxValue(uint32_t pct);
/// Writes memory.max, cpu.max and pids.max in `dir` for each nonzero limit.
Status writeLimitFiles(const std::string& dir, const Limits& limits);

class Cgroup {
 public:
  Cgroup() = default;
  Cgroup(const Cgroup&) = delete;
  Cgroup& operator=(const Cgroup&) = delete;

  /// Creates <root>/<name> (replacing an empty leftover) and writes the limits. On failure
  /// nothing is left behind.
  Status create(const std::string& root, const std::string& name, const Limits& limits);
  bool active() const { return !path_.empty(); }
  const std::string& path() const { return path_; }
  /// Moves `pid` into the cgroup.
  Status addProcess(pid_t pid);
  /// oom_kill count from memory.events; nullopt when unreadable.
  std::optional<uint64_t> oomKills() const;
  /// Kills every process left in the cgroup (cgroup.kill, else SIGKILL to each listed pid).
  void killAll();
  /// Removes the directory, waiting up to ~1 s for killed processes to go.
  Status remove();

 private:
  std::string path_;
};

}  // namespace zlh::agent::shim
