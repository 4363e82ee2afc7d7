#pragma once
/// @file
/// A scriptable Supervisor for plugin unit tests: no shims, no processes. It records what the
/// plugin asks (spawns, input, signals, resizes, forgets) and lets the test play the shim's part:
/// complete or fail a spawn, push console output, trigger an exit, pretend a shim was adopted.
///
/// Timing, like the real one: a call made BY THE PLUGIN never calls back before it returns; its
/// callbacks (an auto-completed spawn, status, the replay of watchOutput) are posted and run at
/// FakePluginContext::runPending(). Test controls (completeSpawn, pushOutput, exit, ...) call back
/// immediately: the test is the loop. Single-threaded.
///
///   FakePluginContext ctx;
///   auto& sup = ctx.fakeSupervisor();
///   plugin->handleJob(startJob, reply);          // plugin calls sup.spawn(...)
///   sup.completeSpawn("mc-1");                   // the shim is "serving"; done(status) runs
///   sup.pushOutput("mc-1", "Done (1.2s)!\n");    // watchers see it
///   sup.exit("mc-1", FakeSupervisor::exitCode(1));  // onExit listeners + watchers' on_closed
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/sdk/listener_list.h"
#include "agent/sdk/supervisor.h"
#include "agent/sdk/task.h"

namespace zlh::agent::sdk::testing {

class FakeSupervisor : public Supervisor {
 public:
  struct Spawn {
    std::string instance_id;
    ProcessSpec spec;
  };
  struct Input {
    std::string instance_id;
    std::string bytes;
  };
  struct Sent {  ///< a signal or a resize ("120x40")
    std::string instance_id;
    std::string value;
  };

  /// `post` queues a callback on the fake loop (FakePluginContext passes its post()).
  explicit FakeSupervisor(std::function<void(Task)> post);

  void spawn(const std::string& instance_id, const ProcessSpec& spec,
             std::function<void(Result<ProcessStatus>)> done) override;
  bool alive(const std::string& instance_id) const override;
  void status(const std::string& instance_id,
              std::function<void(Result<ProcessStatus>)> done) override;
  Status sendInput(const std::string& instance_id, std::string bytes) override;
  Status signal(const std::string& instance_id, const std::string& signal) override;
  Status resize(const std::string& instance_id, uint32_t cols, uint32_t rows) override;
  Result<SubscriptionPtr> watchOutput(const std::string& instance_id, bool replay,
                                      OutputWatcher watcher) override;
  SubscriptionPtr onExit(
      std::function<void(const std::string&, const ExitRecord&)> listener) override;
  std::optional<ExitRecord> lastExit(const std::string& instance_id) const override;
  std::vector<std::string> adopted() const override { return adopted_; }
  Status forget(const std::string& instance_id) override;

  // --- what the plugin asked ---
  const std::vector<Spawn>& spawns() const { return spawns_; }
  const std::vector<Input>& inputs() const { return inputs_; }
  const std::vector<Sent>& signals() const { return signals_; }
  const std::vector<Sent>& resizes() const { return resizes_; }
  const std::vector<std::string>& forgotten() const { return forgotten_; }
  /// Spawns not completed or failed yet.
  bool spawnPending(const std::string& instance_id) const;
  size_t watcherCount(const std::string& instance_id) const;

  // --- playing the shim ---
  /// Completes a pending spawn: the instance is alive with fresh fake pids (or `status`), and
  /// the spawn's `done` runs now. False when no spawn was pending.
  bool completeSpawn(const std::string& instance_id, std::optional<ProcessStatus> status = {});
  /// Fails a pending spawn with `error` (the instance stays not alive). False when none pending.
  bool failSpawn(const std::string& instance_id, Error error);
  /// When on, spawn() completes by itself (posted). Off by default.
  void setAutoCompleteSpawns(bool on) { auto_complete_ = on; }
  /// Console output: appended to the scrollback (replayed to later watchers) and given to every
  /// watcher of the instance now.
  void pushOutput(const std::string& instance_id, std::string_view chunk);
  /// Reports `dropped` bytes to every watcher of the instance.
  void pushDropped(const std::string& instance_id, uint64_t dropped);
  /// The process exited: not alive any more, lastExit = record, watchers' on_closed, then every
  /// onExit listener once.
  void exit(const std::string& instance_id, ExitRecord record);
  /// Pretends a live shim was found at agent start (alive, listed by adopted()).
  void adopt(const std::string& instance_id, std::optional<ProcessStatus> status = {});
  /// Makes sendInput/signal/resize return this error (once).
  void failNextCall(Error error) { fail_next_ = std::move(error); }
  /// Hooks run after the call was recorded (e.g. exit with code 0 on "stop\n", or on "KILL").
  /// They run inside the plugin's call: to act like a real shim, post() the reaction.
  std::function<void(const std::string& id, const std::string& bytes)> on_input;
  std::function<void(const std::string& id, const std::string& signal)> on_signal;

  static ExitRecord exitCode(int code);
  static ExitRecord exitSignal(const std::string& signal);

 private:
  struct WatcherSlot {
    OutputWatcher w;
    bool replay_done = false;
    std::string held;  // live output pushed before the replay was delivered
  };
  struct Instance {
    bool alive = false;
    ProcessStatus status;
    std::string scrollback;
    std::map<uint64_t, std::shared_ptr<WatcherSlot>> watchers;
    std::function<void(Result<ProcessStatus>)> pending_spawn;
    std::optional<ExitRecord> last_exit;
  };
  class WatchHandle;
  Status checkCall(const std::string& instance_id);
  ProcessStatus makeStatus();

  std::function<void(Task)> post_;
  std::map<std::string, Instance> instances_;
  std::shared_ptr<bool> alive_token_ = std::make_shared<bool>(true);
  ListenerList<const std::string&, const ExitRecord&> exit_listeners_;
  std::vector<Spawn> spawns_;
  std::vector<Input> inputs_;
  std::vector<Sent> signals_;
  std::vector<Sent> resizes_;
  std::vector<std::string> forgotten_;
  std::vector<std::string> adopted_;
  std::optional<Error> fail_next_;
  bool auto_complete_ = false;
  int next_pid_ = 1000;
  uint64_t next_watch_ = 0;
};

}  // namespace zlh::agent::sdk::testing
