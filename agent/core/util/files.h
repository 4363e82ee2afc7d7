#pragma once
// Small file helpers for core state: atomic writes, reads, rfc3339 times, process checks.
#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>

#include "agent/sdk/result.h"

namespace zlh::agent::core {

/// Writes `data` to `path` atomically: temp file in the same dir (mode `mode`), fsync, rename,
/// fsync of the dir. On error nothing is left behind and the old file is unchanged.
sdk::Status writeFileAtomic(const std::filesystem::path& path, const std::string& data,
                            mode_t mode = 0600);
/// The whole file; NotFound when it does not exist.
sdk::Result<std::string> readFile(const std::filesystem::path& path);
/// Creates `dir` and missing parents; sets `dir` itself to `mode`.
sdk::Status makeDir(const std::filesystem::path& dir, mode_t mode = 0700);
/// Now as RFC 3339 UTC with milliseconds ("2025-01-31T12:00:00.123Z").
std::string nowRfc3339();
/// True when `pid` exists and is not a zombie (a re-parented dead shim may stay a zombie when
/// pid 1 does not reap).
bool processAlive(pid_t pid);
/// The pid in a pid file ("<pid>\n"), if any.
std::optional<pid_t> readPidFile(const std::filesystem::path& path);

}  // namespace zlh::agent::core
