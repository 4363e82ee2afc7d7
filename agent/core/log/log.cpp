#include "agent/core/log/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace zlh::agent::core {
namespace {
spdlog::level::level_enum toSpd(sdk::LogLevel l) {
  switch (l) {
    case sdk::LogLevel::kTrace:
      return spdlog::level::trace;
    case sdk::LogLevel::kDebug:
      return spdlog::level::debug;
    case sdk::LogLevel::kInfo:
      return spdlog::level::info;
    case sdk::LogLevel::kWarn:
      return spdlog::level::warn;
    case sdk::LogLevel::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}
sdk::LogLevel fromSpd(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::trace:
      return sdk::LogLevel::kTrace;
    case spdlog::level::debug:
      return sdk::LogLevel::kDebug;
    case spdlog::level::info:
      return sdk::LogLevel::kInfo;
    case spdlog::level::warn:
      return sdk::LogLevel::kWarn;
    default:
      return sdk::LogLevel::kError;
  }
}
}  // namespace

void setupLogging(const std::string& level) {
  auto logger = spdlog::stderr_logger_mt("zlh-agent");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::flush_on(spdlog::level::info);
}

sdk::Logger makePrefixedLogger(std::string prefix) {
  auto logger = spdlog::default_logger();
  return sdk::Logger(
      [logger, prefix = "[" + std::move(prefix) + "] "](sdk::LogLevel level,
                                                        std::string_view text) {
        logger->log(toSpd(level), "{}{}", prefix, text);
      },
      fromSpd(logger->level()));
}

}  // namespace zlh::agent::core
