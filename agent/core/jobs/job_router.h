#pragma once
// Routes job.start to the plugin owning the kind and sends exactly one job.done per job id:
// unknown kind -> `unimplemented`; an id already finished -> its recorded result with
// redelivered = true (not run again, also after a restart: JobStore); an id still running -> no
// second run (its one result is sent when done); the deadline passing -> `deadline_exceeded`.
// Plugins answer from any thread; answers are marshalled to the loop, late or duplicate ones are
// logged and ignored. Loop thread only.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "agent/core/jobs/job_store.h"
#include "agent/core/loop/event_loop.h"
#include "agent/core/metrics/agent_metrics.h"
#include "agent/core/plugins/plugin_host.h"
#include "agent/sdk/job.h"
#include "proto/v1/messages.h"

namespace zlh::agent::core {

class JobRouter {
 public:
  using SendDone = std::function<void(proto::JobDone)>;
  using SendProgress = std::function<void(proto::JobProgress)>;

  JobRouter(EventLoop& loop, JobStore& store, PluginHost& host, AgentMetrics& metrics,
            SendDone send_done, SendProgress send_progress);
  ~JobRouter();

  void start(const proto::JobStart& msg);
  /// Cancels every running job (agent stopping): no job.done is sent for them.
  void cancelAll();
  size_t running() const { return running_.size(); }

 private:
  struct Running {
    std::string kind;
    std::string plugin;
    std::chrono::steady_clock::time_point started;
    std::shared_ptr<sdk::JobSignals> signals;
    sdk::TimerPtr deadline_timer;
  };
  void finish(const std::string& job_id, sdk::Result<nlohmann::json> result);
  void answerOnce(const std::string& job_id, std::optional<nlohmann::json> result,
                  std::optional<sdk::Error> error, bool redelivered = false);
  bool answerRedelivery(const proto::JobStart& msg);
  sdk::Job makeJob(const proto::JobStart& msg, const std::shared_ptr<sdk::JobSignals>& signals);

  EventLoop& loop_;
  JobStore& store_;
  PluginHost& host_;
  AgentMetrics& metrics_;
  SendDone send_done_;
  SendProgress send_progress_;
  std::map<std::string, Running> running_;
  // Answers posted from plugin threads check this before touching the router.
  std::shared_ptr<JobRouter*> self_;
};

}  // namespace zlh::agent::core
