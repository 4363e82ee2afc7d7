#pragma once
/// @file
/// The supervisor: the core's mechanism for running an instance's process under a zlh-shim
/// (agent/shim/README.md) and talking to it. Plugins never touch shims directly.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/sdk/instances.h"
#include "agent/sdk/result.h"

namespace zlh::agent::sdk {

struct ProcessSpec {
  std::vector<std::string> command;  ///< argv; command[0] resolved through PATH by the shim
  std::filesystem::path cwd;         ///< usually the instance's data dir
  std::map<std::string, std::string> env;
  uint32_t cols = 120;
  uint32_t rows = 40;
  uint32_t stop_grace_s = 10;     ///< SIGTERM-to-SIGKILL grace when the shim itself is stopped
  uint64_t memory_max_bytes = 0;  ///< 0 = no limit
  uint32_t cpu_max_pct = 0;       ///< 100 = one core; 0 = no limit
  uint32_t pids_max = 0;
};

/// Written by the shim when the process exits (code or signal, OOM, times, last lines).
struct ExitRecord {
  std::optional<int> code;
  std::optional<std::string> signal;  ///< "KILL", "TERM", ...
  bool oom_killed = false;
  std::string started_at;
  std::string exited_at;
  std::vector<std::string> last_lines;
  /// True when no record could be read (the shim died too): the exit is treated as a crash.
  bool lost = false;
  /// {"code","signal","oom_killed","started_at","exited_at","last_lines","lost"}: the shim's
  /// record plus `lost` (code/signal null when not applicable).
  nlohmann::json toJson() const;
  /// Reads the shim's exit record (or toJson()'s output); unknown keys are ignored.
  static Result<ExitRecord> fromJson(const nlohmann::json& j);
};

/// "TERM", "sigterm", "SIGTERM" -> "TERM"; nullopt for a name that is not a standard signal.
std::optional<std::string> normalizeSignalName(std::string_view name);

struct ProcessStatus {
  bool running = false;
  int shim_pid = 0;
  int child_pid = 0;
  std::string started_at;
  nlohmann::json limits = nlohmann::json::object();  ///< {"applied":bool,"reason"?:...}
};

/// Receives an instance's console output. `chunk` is raw PTY bytes; `dropped` > 0 reports bytes
/// skipped because this watcher fell behind. Called on the core loop, in stream order; any field
/// may be left empty. For every watcher: replayed + received + dropped bytes = the output since
/// it attached. Each watcher has its own bounded queue (1 MiB): a callback that is slower than
/// the output loses output (on_dropped), it never holds up the game or other watchers.
struct OutputWatcher {
  std::function<void(std::string_view chunk)> on_output;
  std::function<void(uint64_t dropped)> on_dropped;
  /// After the scrollback when `replay` was asked, right away otherwise: live output follows.
  std::function<void()> on_replay_end;
  /// Once, last: the process exited (after its final output) or the shim died. Not called when
  /// the subscription is destroyed first, nor at agent shutdown.
  std::function<void()> on_closed;
};

/// All methods are called on the core loop; callbacks arrive on it, never inside the call that
/// caused them. "No running process" errors are FailedPrecondition; a shim that is alive but
/// briefly unreachable gives Unavailable (retry).
class Supervisor {
 public:
  virtual ~Supervisor() = default;

  /// Starts a shim (detached, survives the agent) running `spec` for the instance. `done` gets
  /// the status once the shim is serving, or an error (Conflict when a live shim exists or a
  /// spawn is under way, InvalidArgument for a bad id, an empty command or a socket path over
  /// the unix limit, Internal when zlh-shim cannot start). A process that exits at once (e.g.
  /// exec failure: code 127) still counts as spawned: `done` gets running=false, then onExit.
  /// The instance's console log, shim.log and exit record live in <state.dir>/instances/<id>/.
  virtual void spawn(const std::string& instance_id, const ProcessSpec& spec,
                     std::function<void(Result<ProcessStatus>)> done) = 0;
  /// True while a live shim serves the instance (also one adopted at agent start).
  virtual bool alive(const std::string& instance_id) const = 0;
  /// Asks the shim (fresh pids, limits); FailedPrecondition when no process runs.
  virtual void status(const std::string& instance_id,
                      std::function<void(Result<ProcessStatus>)> done) = 0;

  /// Bytes to the process's PTY (a console command needs its trailing "\n"). Queued toward the
  /// shim; a shim-side failure (its 1 MiB input buffer full) is logged, not returned.
  virtual Status sendInput(const std::string& instance_id, std::string bytes) = 0;
  /// Signal to the process group: "TERM", "KILL", "INT", "HUP", "STOP", "CONT" (any standard
  /// name, with or without "SIG", any case; InvalidArgument otherwise). The process's exit is
  /// reported through onExit like any other.
  virtual Status signal(const std::string& instance_id, const std::string& signal) = 0;
  virtual Status resize(const std::string& instance_id, uint32_t cols, uint32_t rows) = 0;

  /// Streams the console: scrollback first when `replay`, then live output. Many watchers per
  /// instance; each is bounded (a slow one gets on_dropped, never unbounded memory).
  virtual Result<SubscriptionPtr> watchOutput(const std::string& instance_id, bool replay,
                                              OutputWatcher watcher) = 0;

  /// Called once per process exit of any instance, with its exit record (also for exits that
  /// happened while the agent was down, found at adoption: those are delivered right after every
  /// plugin's start() returned, so subscribe in start()). At adoption an exit is reported for
  /// each record in starting/running/ready/stopping whose shim is gone: its exit record, or
  /// `lost` when there is none (the shim died; its orphaned process group is SIGKILLed).
  virtual SubscriptionPtr onExit(
      std::function<void(const std::string& instance_id, const ExitRecord& exit)> listener) = 0;

  /// The last exit record of an instance, if any (kept across agent restarts: read from disk).
  virtual std::optional<ExitRecord> lastExit(const std::string& instance_id) const = 0;

  /// Ids of instances whose shim was found alive at agent start (re-adoption), whatever their
  /// record's state (a live shim of a `stopped` record is adopted too: policy decides).
  virtual std::vector<std::string> adopted() const = 0;

  /// Removes the instance's runtime files (socket, pid file, spec) and exit record and forgets
  /// its last exit, once it is deleted. FailedPrecondition while the shim is alive or starting.
  /// Idempotent.
  virtual Status forget(const std::string& instance_id) = 0;
};

}  // namespace zlh::agent::sdk
