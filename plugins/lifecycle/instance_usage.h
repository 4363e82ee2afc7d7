#pragma once
// What an instance uses, read from /proc, cgroupfs and its directory. Blocking (file reads, a
// directory walk): run on the pool. Pure functions of their inputs, so tests use fixture trees.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace zlh::plugins::lifecycle {

struct ProcessTreeUsage {
  /// utime + stime + cutime + cstime summed over the live processes of the tree: the CPU time of
  /// the tree including its exited, reaped members (their time moved into a parent's cutime).
  double cpu_seconds = 0;
  /// RssAnon summed over the tree: resident memory without page cache (file-backed pages, such
  /// as the mapped server jar and libraries, are not counted).
  uint64_t rss_anon_bytes = 0;
  uint32_t processes = 0;
};

/// Scans <procfs>/<pid>/stat once and returns, for each root pid still alive, the usage of it and
/// its descendants. Roots that are gone are left out.
std::map<int, ProcessTreeUsage> processTreeUsage(const std::string& procfs,
                                                 const std::vector<int>& roots);

/// Allocated bytes (st_blocks * 512, like du) of everything under `dir`, without following
/// symlinks or crossing into other file systems; nullopt when `dir` cannot be read.
std::optional<uint64_t> directoryUsageBytes(const std::filesystem::path& dir);

/// memory.current of a cgroup v2 directory; nullopt when absent.
std::optional<uint64_t> cgroupMemoryBytes(const std::string& cgroup_dir);

/// Seconds since the epoch of an RFC 3339 UTC time ("2026-01-02T03:04:05Z", fraction allowed).
std::optional<double> parseRfc3339Utc(const std::string& text);

}  // namespace zlh::plugins::lifecycle
