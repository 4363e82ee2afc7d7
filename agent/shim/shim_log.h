#pragma once
// The shim's own log: a few lines per lifetime in shim.log beside the console log (capped, one
// rotated generation), and on stderr in --foreground mode. No spdlog: the shim stays tiny.
#include <string>
#include <string_view>

#include "agent/shim/shim_protocol.h"

namespace zlh::agent::shim::log {

inline constexpr uint64_t kShimLogMaxBytes = 256 * 1024;

/// Opens the log file; until then (or if it fails) lines go to stderr only.
Status open(const std::string& path, bool also_stderr);
void info(std::string_view message);
void warn(std::string_view message);
void error(std::string_view message);
void close();

}  // namespace zlh::agent::shim::log
