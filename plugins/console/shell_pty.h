#pragma once
// A plain shell on its own PTY, for one console viewer (templates with `[console] shell = true`,
// e.g. a hosted IDE). Unlike an instance's process it is not supervised by a shim: it belongs to
// the viewer's stream and ends with it (SIGHUP to its session, SIGKILL 2 s later).
//
// One thread per shell does all PTY I/O (poll on the master and a wake eventfd) and reaps the
// child; results reach the owner through `post` (the core loop). Output is flow-controlled, not
// dropped: the thread stops reading while the owner holds more than kMaxInFlight bytes it has not
// consumed, so a shell printing faster than its viewer reads simply blocks, like over ssh.
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/sdk/result.h"
#include "agent/sdk/task.h"

namespace zlh::plugins::console {

class ShellPty {
 public:
  struct Options {
    std::vector<std::string> argv;  ///< absolute program path first
    std::filesystem::path cwd;
    std::map<std::string, std::string> env;  ///< the whole environment (nothing inherited)
    uint16_t cols = 120;
    uint16_t rows = 40;
  };
  struct Callbacks {
    std::function<void(std::string chunk)> on_output;  ///< call consumed() once handled
    /// Once: the shell exited (after its last output); `status` as from waitpid.
    std::function<void(int status)> on_exit;
  };
  /// Runs a task on the owner's thread (the core loop). Never called after the ShellPty died.
  using Post = std::function<void(agent::sdk::Task)>;

  static constexpr size_t kMaxInFlight = 256 * 1024;  ///< output read but not yet consumed
  static constexpr size_t kMaxInput = 1 << 20;         ///< input queued toward the PTY

  static agent::sdk::Result<std::unique_ptr<ShellPty>> start(const Options& options, Post post,
                                                             Callbacks callbacks);
  /// Hangs the shell up (if still running) and returns at once; the thread reaps it.
  ~ShellPty();
  ShellPty(const ShellPty&) = delete;
  ShellPty& operator=(const ShellPty&) = delete;

  /// Bytes for the shell. False (nothing queued) when kMaxInput would be exceeded.
  bool write(std::string_view bytes);
  agent::sdk::Status resize(uint16_t cols, uint16_t rows);
  /// The owner handled `n` bytes of output (or will keep them itself): reading may go on.
  void consumed(size_t n);
  pid_t pid() const;

  struct Shared;

 private:
  ShellPty(std::shared_ptr<Shared> shared, pid_t pid) : shared_(std::move(shared)), pid_(pid) {}
  std::shared_ptr<Shared> shared_;
  pid_t pid_;
};

}  // namespace zlh::plugins::console
