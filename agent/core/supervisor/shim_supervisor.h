#pragma once
// The core's sdk::Supervisor: runs each instance's process under a detached zlh-shim
// (agent/shim/README.md) and talks to the shims over their unix sockets with non-blocking Asio on
// the core loop: one control connection per shim (input, resize, signal, status, and the EXIT
// notice, which the shim broadcasts to every client) and one connection per output watcher
// (ATTACH), each with a bounded queue. Shims outlive the agent: destroying the supervisor closes
// connections and stops nothing. Loop thread only (adoptAtStart before the loop runs).
#include <chrono>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agent/core/loop/event_loop.h"
#include "agent/core/supervisor/shim_launcher.h"
#include "agent/core/supervisor/shim_layout.h"
#include "agent/sdk/listener_list.h"
#include "agent/sdk/supervisor.h"
#include "agent/shim/shim_protocol.h"

namespace zlh::agent::core {

class ShimConnection;

class ShimSupervisor : public sdk::Supervisor {
 public:
  struct Options {
    std::filesystem::path state_dir;
    std::filesystem::path runtime_dir;
    std::filesystem::path shim_path;
    std::chrono::milliseconds launch_timeout{30000};
    std::chrono::milliseconds probe_timeout{2000};
    std::chrono::milliseconds reconnect_interval{200};
    size_t watcher_queue_bytes = 1 << 20;  ///< per output watcher; beyond it output is dropped
  };
  struct AdoptionReport {
    size_t records = 0;
    size_t adopted = 0;           ///< live shims re-attached
    size_t exits_while_down = 0;  ///< queued for onExit listeners
    size_t orphans_stopped = 0;   ///< live shims without a record: SIGTERM
    size_t stale_dirs_removed = 0;
    size_t unreachable = 0;  ///< shim process alive, socket not answering (retried)
  };

  ShimSupervisor(EventLoop& loop, Options options);
  ~ShimSupervisor() override;

  /// At start, before plugins: finds the shims of `records` (pid file + live socket) and
  /// re-attaches, queues the exits that happened while the agent was down (delivered by
  /// releaseExits()), stops orphan shims and removes stale runtime dirs. Blocking (probes).
  AdoptionReport adoptAtStart(const std::vector<sdk::InstanceRecord>& records);
  /// Starts delivering exits to onExit listeners, first the ones queued so far (call right
  /// after the plugins started). Until then exits wait in a queue.
  void releaseExits();

  void spawn(const std::string& instance_id, const sdk::ProcessSpec& spec,
             std::function<void(sdk::Result<sdk::ProcessStatus>)> done) override;
  bool alive(const std::string& instance_id) const override;
  void status(const std::string& instance_id,
              std::function<void(sdk::Result<sdk::ProcessStatus>)> done) override;
  sdk::Status sendInput(const std::string& instance_id, std::string bytes) override;
  sdk::Status signal(const std::string& instance_id, const std::string& signal) override;
  sdk::Status resize(const std::string& instance_id, uint32_t cols, uint32_t rows) override;
  sdk::Result<sdk::SubscriptionPtr> watchOutput(const std::string& instance_id, bool replay,
                                                sdk::OutputWatcher watcher) override;
  sdk::SubscriptionPtr onExit(
      std::function<void(const std::string&, const sdk::ExitRecord&)> listener) override;
  std::optional<sdk::ExitRecord> lastExit(const std::string& instance_id) const override;
  std::vector<std::string> adopted() const override { return adopted_; }
  sdk::Status forget(const std::string& instance_id) override;

  /// For metrics and tests: live shims and open watchers.
  size_t liveCount() const;
  size_t watcherCount() const;
  const ShimLayout& layout() const { return layout_; }

 private:
  struct Watch;
  class WatchHandle;
  enum class Phase { kSpawning, kLive, kGone };
  using StatusFn = std::function<void(sdk::Result<sdk::ProcessStatus>)>;
  struct Shim {
    std::string id;
    Phase phase = Phase::kGone;
    uint64_t session = 0;  ///< bumped per spawn/adoption: stale callbacks are ignored
    sdk::ProcessStatus status;
    std::shared_ptr<ShimConnection> control;
    struct Waiter {
      StatusFn fn;
      bool spawn = false;  ///< spawn's done: answered with a status even when the process died
    };
    std::deque<Waiter> status_waiters;
    bool launched = false;  ///< the launcher reported the shim serving
    bool exit_seen = false;
    bool lost_logged = false;
    sdk::TimerPtr reconnect;
    std::optional<sdk::ExitRecord> last_exit;
  };

  Shim* find(const std::string& id);
  const Shim* find(const std::string& id) const;
  sdk::Status requireLive(const std::string& id, Shim** out);
  void launched(const std::string& id, uint64_t session, sdk::Result<LaunchOutcome> outcome);
  void connectControl(const std::string& id, uint64_t session);
  void answerWaiters(Shim& shim, const sdk::Result<sdk::ProcessStatus>& status);
  void onControlFrame(const std::string& id, uint64_t session, shim::Frame frame);
  void onControlLost(const std::string& id, uint64_t session, const std::string& why);
  void exited(Shim& shim, sdk::ExitRecord record);
  void deliverExit(const std::string& id, const sdk::ExitRecord& record);
  std::optional<sdk::ExitRecord> readExitRecord(const std::string& id) const;
  void killOrphanChild(const Shim& shim);
  void adoptOne(const sdk::InstanceRecord& record, AdoptionReport& report);
  void sweepRuntimeDirs(const std::map<std::string, bool>& known, AdoptionReport& report);
  // watchers (shim_watchers.cpp)
  void watchFrame(const std::shared_ptr<Watch>& w, shim::Frame frame);
  void enqueue(const std::shared_ptr<Watch>& w, int kind, std::string data, uint64_t n);
  void pump(const std::shared_ptr<Watch>& w);
  void closeWatches();

  EventLoop& loop_;
  Options options_;
  ShimLayout layout_;
  std::map<std::string, Shim> shims_;
  std::map<uint64_t, std::shared_ptr<Watch>> watches_;
  uint64_t next_watch_ = 0;
  uint64_t next_session_ = 0;
  sdk::ListenerList<const std::string&, const sdk::ExitRecord&> exit_listeners_;
  bool exits_released_ = false;
  std::vector<std::pair<std::string, sdk::ExitRecord>> queued_exits_;
  std::vector<std::string> adopted_;
  std::shared_ptr<bool> token_ = std::make_shared<bool>(true);  // weak in async callbacks
};

}  // namespace zlh::agent::core
