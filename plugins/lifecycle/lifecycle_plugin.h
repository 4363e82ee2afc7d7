#pragma once
// The `lifecycle` plugin: the policy half of instance management (docs/lifecycle.md). The core's
// registry holds the records and its supervisor the processes; this plugin decides what happens:
// templates, install, power actions, readiness, hang detection, crash and restart rules.
//
// Threading: every method and callback runs on the core loop; install steps and probes run on
// the pool (runBlocking) and post their results back. Callbacks hold a weak token so nothing
// touches the plugin after it is gone.
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/sdk/plugin.h"
#include "agent/sdk/plugin_context.h"
#include "plugins/lifecycle/crash_policy.h"
#include "plugins/lifecycle/instance_usage.h"
#include "plugins/lifecycle/lifecycle_config.h"
#include "plugins/lifecycle/port_allocator.h"
#include "plugins/lifecycle/probes.h"
#include "plugins/lifecycle/template.h"
#include "plugins/lifecycle/template_render.h"

namespace zlh::plugins::lifecycle {

/// Injected time and randomness (tests drive them; production uses steady_clock and a PRNG).
struct LifecycleDeps {
  std::function<SteadyTime()> now;
  std::function<double()> jitter;      ///< uniform in [-1, 1]
  PortAllocator::FreeCheck port_free;  ///< default: tcpPortFree
  static LifecycleDeps production();
};

class LifecyclePlugin : public agent::sdk::Plugin {
 public:
  LifecyclePlugin(agent::sdk::PluginContext& ctx, LifecycleConfig config,
                  LifecycleDeps deps = LifecycleDeps::production());
  ~LifecyclePlugin() override;

  agent::sdk::Status start() override;
  void stop() override;
  std::vector<std::string> jobKinds() const override;
  void handleJob(const agent::sdk::Job& job, agent::sdk::JobReply reply) override;
  void collectMetrics(agent::sdk::MetricsWriter& out) override;

 private:
  enum class ActionKind { kCreate, kStart, kStop, kRestart, kKill, kDelete };
  enum class Phase { kInstalling, kSpawning, kStopping };
  struct Action {
    ActionKind kind = ActionKind::kStart;
    Phase phase = Phase::kSpawning;
    uint64_t id = 0;
    std::vector<agent::sdk::JobReply> replies;
    std::vector<agent::sdk::JobReply> kill_replies;    ///< kills joined into a delete
    std::vector<agent::sdk::JobReply> delete_replies;  ///< deletes waiting on a create
    agent::sdk::TimerPtr deadline;
    agent::sdk::TimerPtr kill_timer;
    std::shared_ptr<std::atomic<bool>> abort;  ///< create: stops the install
    std::shared_ptr<agent::sdk::JobSignals> signals;
    bool start_after = false;  ///< create with start, restart
    bool escalated = false;    ///< the stop timed out and SIGKILL was sent
    std::optional<uint16_t> reserved_port;
  };
  struct Runtime {
    std::optional<Action> action;
    std::shared_ptr<const Template> tmpl;
    bool exit_expected = false;
    bool spawning = false;
    std::optional<std::string> fail_reason;  ///< exit -> failed (readiness on_timeout = "fail")
    uint64_t generation = 0;
    agent::sdk::SubscriptionPtr watch;
    std::string line_tail;
    bool log_line_seen = false;
    bool adopted_running = false;
    bool readiness_expired = false;
    SteadyTime spawned_at{};
    std::string last_probe_error;
    std::optional<SteadyTime> failing_since;
    SteadyTime probe_started{};
    agent::sdk::TimerPtr probe_timer, readiness_timer, restart_timer, stable_timer, adopt_timer;
    CrashTracker crashes;
    std::optional<SlpStatus> last_ping;
    // instance_metrics.cpp: sampled on timers, written on scrapes.
    uint64_t restarts = 0;  ///< automatic restarts after a crash, since the agent started
    std::optional<ProcessTreeUsage> usage;
    std::optional<uint64_t> cgroup_memory;
    std::optional<uint64_t> disk_bytes;
    std::optional<double> started_at;  ///< process start, seconds since the epoch (from the shim)
  };
  using Reply = agent::sdk::JobReply;
  using Record = agent::sdk::InstanceRecord;
  static const char* actionName(ActionKind kind);

  // lifecycle_plugin.cpp: plumbing shared by the parts below.
  template <class F>
  auto guard(F fn);
  Runtime& runtime(const std::string& id) { return runtimes_[id]; }
  nlohmann::json view(const Record& r) const;
  agent::sdk::Result<nlohmann::json> viewResult(const std::string& id) const;
  void setDesired(const std::string& id, const std::string& desired);
  void setReason(const std::string& id, const std::string& reason);
  agent::sdk::Status transition(const std::string& id, agent::sdk::InstanceState to,
                                const std::string& reason);
  void emit(const std::string& type, nlohmann::json body);
  agent::sdk::Result<std::shared_ptr<const Template>> templateOf(const Record& r);
  RenderVars varsFor(const Record& r) const;
  std::string probeHost() const;

  // job_create.cpp
  void jobCreate(const agent::sdk::Job& job, Reply reply);
  agent::sdk::Result<nlohmann::json> buildSpec(const nlohmann::json& params, const Template& t,
                                               std::optional<uint16_t>& port);
  void runInstallStep(const std::string& id, const Template& t);
  void onInstalled(const std::string& id, uint64_t action_id, agent::sdk::Status result);
  void abandonCreate(const std::string& id, const agent::sdk::Error& error);

  // job_power.cpp
  /// The instance a start/stop/restart acts on: NotFound, Conflict while another action runs,
  /// FailedPrecondition in a `refused` state.
  agent::sdk::Result<Record> powerTarget(const std::string& id,
                                         std::initializer_list<agent::sdk::InstanceState> refused);
  void jobStart(const agent::sdk::Job& job, Reply reply);
  void jobStop(const agent::sdk::Job& job, Reply reply);
  void jobRestart(const agent::sdk::Job& job, Reply reply);
  void jobKill(const agent::sdk::Job& job, Reply reply);
  void jobDelete(const agent::sdk::Job& job, Reply reply);
  void jobStatus(const agent::sdk::Job& job, Reply reply);
  void beginAction(const std::string& id, ActionKind kind, Phase phase, Reply reply);
  void supersede(const std::string& id, ActionKind by);
  /// Start or restart from a state without a process: action in phase spawning, with a deadline.
  void spawnAction(const std::string& id, agent::sdk::InstanceState from, ActionKind kind,
                   Reply reply);
  void finishAction(const std::string& id, agent::sdk::Result<nlohmann::json> result);
  void finishDelete(const std::string& id);
  void armDeadline(const std::string& id, std::chrono::seconds after);
  void onActionDeadline(const std::string& id, uint64_t action_id);

  // process_control.cpp
  agent::sdk::Status startProcess(const std::string& id, const std::string& reason);
  void onSpawned(const std::string& id, uint64_t generation,
                 agent::sdk::Result<agent::sdk::ProcessStatus> result);
  void beginStop(const std::string& id, uint32_t timeout_s, bool graceful);
  void sendKill(const std::string& id);
  void onExit(const std::string& id, const agent::sdk::ExitRecord& exit);
  void onExpectedExit(const std::string& id, const Record& rec);
  void onCrash(const std::string& id, const Record& rec, const agent::sdk::ExitRecord& exit);
  void autoRestart(const std::string& id);
  void stopMonitoring(Runtime& rt);

  // readiness.cpp
  void beginReadiness(const std::string& id, bool adopted);
  void onOutput(const std::string& id, uint64_t generation, std::string_view chunk);
  void scheduleProbe(const std::string& id, std::chrono::milliseconds delay);
  void runProbeNow(const std::string& id, uint64_t generation);
  void onProbeResult(const std::string& id, uint64_t generation, ProbeResult result);
  void onReady(const std::string& id, Runtime& rt);
  void onHealth(const std::string& id, Runtime& rt, const agent::sdk::Status& status);
  void onReadinessTimeout(const std::string& id, uint64_t generation);

  // instance_metrics.cpp
  void writeInstanceMetrics(agent::sdk::MetricsWriter& out);
  void scheduleUsage(std::chrono::milliseconds delay);
  void refreshUsage();
  void scheduleDisk(std::chrono::milliseconds delay);
  void refreshDisk();

  // adoption.cpp
  void adoptAll();
  void adoptOne(const Record& rec);
  void adoptAlive(const Record& rec);

  agent::sdk::PluginContext& ctx_;
  LifecycleConfig config_;
  LifecycleDeps deps_;
  PortAllocator ports_;
  std::map<std::string, Runtime> runtimes_;
  agent::sdk::SubscriptionPtr exit_sub_;
  std::shared_ptr<int> life_ = std::make_shared<int>(0);
  uint64_t next_action_id_ = 0;
  std::atomic<uint64_t> crashes_total_{0}, restarts_total_{0}, installs_ok_{0}, installs_failed_{0};
  agent::sdk::Histogram readiness_seconds_;
  agent::sdk::TimerPtr usage_timer_, disk_timer_;
};

}  // namespace zlh::plugins::lifecycle

namespace zlh::plugins::lifecycle {

/// Wraps a callback so it does nothing once the plugin is gone.
template <class F>
auto LifecyclePlugin::guard(F fn) {
  return [w = std::weak_ptr<int>(life_), fn = std::move(fn)](auto&&... args) mutable {
    if (w.expired()) return;
    fn(std::forward<decltype(args)>(args)...);
  };
}

}  // namespace zlh::plugins::lifecycle
