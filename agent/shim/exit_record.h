#pragma once
// The exit record written when the child exits (README.md, "Exit record").
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "agent/shim/shim_protocol.h"

namespace zlh::agent::shim {

struct ExitRecord {
  std::optional<int> code;    ///< exit code when the child exited normally
  std::optional<int> signal;  ///< signal number when it was killed by one
  bool oom_killed = false;
  std::chrono::system_clock::time_point started_at;
  std::chrono::system_clock::time_point exited_at;
  std::vector<std::string> last_lines;

  /// {"code","signal"(name),"oom_killed","started_at","exited_at","last_lines"}.
  nlohmann::json toJson() const;
};

/// Builds code/signal from a wait status.
ExitRecord exitRecordFromWaitStatus(int wait_status);
/// "2025-01-31T12:00:00.123Z".
std::string rfc3339(std::chrono::system_clock::time_point t);
/// Writes `content` to a temp file beside `path`, fsyncs it and renames it over `path`.
Status writeFileAtomic(const std::string& path, std::string_view content, unsigned mode = 0600);

}  // namespace zlh::agent::shim
