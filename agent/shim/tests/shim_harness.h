#pragma once
// Runs the real zlh-shim binary for the process tests: temp dir, spec, start (foreground or
// daemonized), clients, and cleanup of every process started (also when a test fails).
#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "agent/shim/shim_client.h"

namespace zlh::agent::shim::testing {

using namespace std::chrono_literals;

/// Polls `pred` every 10 ms until it holds or `timeout` passes.
bool waitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout);
/// True when `pid` no longer runs (gone, or a zombie nobody reaped).
bool processGone(pid_t pid);
std::string readFile(const std::filesystem::path& path);

/// What an attached client saw.
struct Seen {
  std::string replay;  // OUTPUT before REPLAY_END
  std::string live;    // OUTPUT after it
  size_t largest_output = 0;  // the largest OUTPUT frame's payload
  uint64_t dropped = 0;
  int dropped_frames = 0;
  bool replay_end = false;
  std::optional<nlohmann::json> exit;
  std::vector<Error> errors;
  bool closed = false;
};

/// Reads frames into `seen` until `stop(seen)` holds, the connection closes or time runs out.
void readInto(ShimClient& client, Seen& seen, const std::function<bool(const Seen&)>& stop,
              std::chrono::milliseconds timeout);

class ShimHarness {
 public:
  explicit ShimHarness(std::vector<std::string> command);
  ~ShimHarness();

  std::filesystem::path dir() const { return dir_; }
  nlohmann::json& spec() { return spec_; }
  std::string path(const char* key) const { return spec_[key].get<std::string>(); }
  std::string writeSpec(const std::string& name = "spec.json") const;

  /// Starts `zlh-shim --foreground` and waits for its pid file.
  ::testing::AssertionResult startForeground();
  /// Starts zlh-shim detached; returns the launcher's exit code and waits for the pid file.
  ::testing::AssertionResult startDaemon();
  /// Runs zlh-shim with `args` to completion; returns its exit code (-1 on timeout).
  static int runToExit(const std::vector<std::string>& args, std::string* stderr_text,
                       std::chrono::milliseconds timeout = 20s);

  Result<ShimClient> connect() const;
  /// Waits for the shim to exit: the foreground process's exit code, or 0 once a daemon is gone.
  std::optional<int> waitExit(std::chrono::milliseconds timeout);
  nlohmann::json exitRecord() const;
  /// The console log's rotated generation followed by the current one.
  std::string consoleLog() const;

  pid_t shimPid() const { return shim_pid_; }
  pid_t childPid() const { return child_pid_; }
  /// Everything the foreground shim wrote on stderr.
  std::string shimStderr() const;

 private:
  ::testing::AssertionResult awaitPidFile();
  pid_t spawn(const std::vector<std::string>& args);

  std::filesystem::path dir_;
  nlohmann::json spec_;
  pid_t launched_ = -1;  // our direct child: the foreground shim or the daemon's launcher
  pid_t shim_pid_ = -1;
  pid_t child_pid_ = -1;
  bool reaped_ = false;
};

}  // namespace zlh::agent::shim::testing
