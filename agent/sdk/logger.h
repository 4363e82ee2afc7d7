#pragma once
/// @file
/// Logger handed to plugins: every line is prefixed with the plugin's name by the core.
/// Thread-safe.
#include <functional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>

namespace zlh::agent::sdk {

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError };

/// A small front end over the agent's log. Arguments are streamed (`<<`) into one line:
/// `log.info("installed ", n, " files")`. Never log secrets (tokens, passwords).
class Logger {
 public:
  /// Receives finished lines; the core forwards them to its log with the plugin's prefix.
  using Sink = std::function<void(LogLevel, std::string_view)>;

  Logger() = default;
  explicit Logger(Sink sink, LogLevel min_level = LogLevel::kTrace)
      : sink_(std::move(sink)), min_level_(min_level) {}

  /// True when a line at `level` would be written (skip building expensive lines).
  bool enabled(LogLevel level) const { return sink_ && level >= min_level_; }

  template <class... A>
  void trace(const A&... a) const {
    write(LogLevel::kTrace, a...);
  }
  template <class... A>
  void debug(const A&... a) const {
    write(LogLevel::kDebug, a...);
  }
  template <class... A>
  void info(const A&... a) const {
    write(LogLevel::kInfo, a...);
  }
  template <class... A>
  void warn(const A&... a) const {
    write(LogLevel::kWarn, a...);
  }
  template <class... A>
  void error(const A&... a) const {
    write(LogLevel::kError, a...);
  }

 private:
  template <class... A>
  void write(LogLevel level, const A&... a) const {
    if (!enabled(level)) return;
    std::ostringstream line;
    (line << ... << a);
    sink_(level, line.str());
  }

  Sink sink_;
  LogLevel min_level_ = LogLevel::kTrace;
};

}  // namespace zlh::agent::sdk
