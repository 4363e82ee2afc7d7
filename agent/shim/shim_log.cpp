#include "agent/shim/shim_log.h"

#include <unistd.h>

#include <chrono>

#include "agent/shim/exit_record.h"
#include "agent/shim/rotating_file.h"

namespace zlh::agent::shim::log {
namespace {

struct State {
  RotatingFile file;
  bool also_stderr = true;
};

State& state() {
  static State s;
  return s;
}

void line(std::string_view level, std::string_view message) {
  std::string text = rfc3339(std::chrono::system_clock::now());
  text.append(" ").append(level).append(" [").append(std::to_string(::getpid())).append("] ");
  text.append(message).append("\n");
  auto& s = state();
  if (s.file.isOpen()) (void)s.file.append(text);
  if (s.also_stderr || !s.file.isOpen()) {
    ssize_t ignored = ::write(STDERR_FILENO, text.data(), text.size());
    (void)ignored;
  }
}

}  // namespace

Status open(const std::string& path, bool also_stderr) {
  state().also_stderr = also_stderr;
  return state().file.open(path, kShimLogMaxBytes, RotatingFile::Split::kWholeWrite);
}

void info(std::string_view message) { line("INFO", message); }
void warn(std::string_view message) { line("WARN", message); }
void error(std::string_view message) { line("ERROR", message); }
void close() { state().file.close(); }

}  // namespace zlh::agent::shim::log
