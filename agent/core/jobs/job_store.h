#pragma once
// Results of finished jobs, one file each under <state.dir>/jobs/, so a redelivered job id is
// answered from the record instead of running again, also after a restart. Records are kept
// 24 h and at most 10,000 (oldest removed first). Files are written atomically (temp + fsync +
// rename); the index is built from file names and modification times only (no file is parsed at
// start). Loop thread only.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>

#include "agent/sdk/result.h"

namespace zlh::agent::core {

struct JobRecord {
  std::string job_id;
  std::string kind;
  std::string plugin;
  int64_t finished_ms = 0;  // unix ms
  std::optional<nlohmann::json> result;
  std::optional<sdk::Error> error;
};

class JobStore {
 public:
  struct Options {
    std::chrono::milliseconds max_age = std::chrono::hours(24);
    size_t max_entries = 10'000;
  };
  using Clock = std::function<int64_t()>;  // unix ms

  JobStore(std::filesystem::path dir, Options options, Clock now = {});

  /// Creates the directory (0700), removes stale temp files and expired records, builds the index.
  sdk::Status open();
  bool contains(const std::string& job_id) const;
  sdk::Result<JobRecord> load(const std::string& job_id) const;
  /// Writes the record durably, then prunes by age and count.
  sdk::Status put(const JobRecord& record);
  /// Removes expired records and the oldest beyond max_entries.
  void prune();
  size_t size() const { return index_.size(); }

  /// The record's file name: "j-<id>.json" for ids of [A-Za-z0-9_-], else "h-<sha256>.json".
  static std::string fileName(const std::string& job_id);

 private:
  void remove(const std::string& file);
  int64_t now() const { return now_(); }

  std::filesystem::path dir_;
  Options options_;
  Clock now_;
  std::multimap<int64_t, std::string> by_time_;  // finished ms -> file name
  std::unordered_map<std::string, std::multimap<int64_t, std::string>::iterator> index_;
};

}  // namespace zlh::agent::core
