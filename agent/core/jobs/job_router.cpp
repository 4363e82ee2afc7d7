#include "agent/core/jobs/job_router.h"

#include <spdlog/spdlog.h>

#include "proto/v1/codec.h"

namespace zlh::agent::core {
using nlohmann::json;

JobRouter::JobRouter(EventLoop& loop, JobStore& store, PluginHost& host, AgentMetrics& metrics,
                     SendDone send_done, SendProgress send_progress)
    : loop_(loop),
      store_(store),
      host_(host),
      metrics_(metrics),
      send_done_(std::move(send_done)),
      send_progress_(std::move(send_progress)),
      self_(std::make_shared<JobRouter*>(this)) {}

JobRouter::~JobRouter() {
  *self_ = nullptr;
  cancelAll();
}

void JobRouter::cancelAll() {
  for (auto& [id, r] : running_) r.signals->cancel();
  running_.clear();
}

void JobRouter::answerOnce(const std::string& job_id, std::optional<json> result,
                           std::optional<sdk::Error> error, bool redelivered) {
  proto::JobDone done;
  done.job_id = job_id;
  done.result = std::move(result);
  done.error = std::move(error);
  done.redelivered = redelivered;
  send_done_(std::move(done));
}

bool JobRouter::answerRedelivery(const proto::JobStart& msg) {
  if (!store_.contains(msg.job_id)) return false;
  auto rec = store_.load(msg.job_id);
  if (!rec.ok()) {
    spdlog::error("job {}: cannot read its record ({}); running it again", msg.job_id,
                  rec.error().message);
    return false;
  }
  spdlog::info("job {} ({}) redelivered: answering from its record", msg.job_id, msg.kind);
  metrics_.countJob(rec->plugin, rec->kind.empty() ? msg.kind : rec->kind,
                    JobOutcome::kRedelivered);
  answerOnce(msg.job_id, std::move(rec->result), std::move(rec->error), true);
  return true;
}

sdk::Job JobRouter::makeJob(const proto::JobStart& msg,
                            const std::shared_ptr<sdk::JobSignals>& signals) {
  sdk::Job job;
  job.job_id = msg.job_id;
  job.kind = msg.kind;
  job.instance_id = msg.instance_id;
  job.params = msg.params;
  if (msg.deadline_ms > 0)
    job.deadline =
        std::chrono::system_clock::time_point(std::chrono::milliseconds(msg.deadline_ms));
  job.signals = signals;
  return job;
}

void JobRouter::start(const proto::JobStart& msg) {
  if (msg.job_id.empty() || msg.job_id.size() > 128) {
    answerOnce(msg.job_id, std::nullopt,
               sdk::makeError(sdk::ErrorCode::kInvalidArgument, "job_id must be 1-128 bytes"));
    return;
  }
  if (running_.count(msg.job_id)) {
    spdlog::info("job {} ({}) is already running: not started twice", msg.job_id, msg.kind);
    return;
  }
  if (answerRedelivery(msg)) return;
  const std::string* owner = host_.ownerOf(msg.kind);
  if (!owner) {
    metrics_.countJob("none", "unknown", JobOutcome::kError);
    answerOnce(
        msg.job_id, std::nullopt,
        sdk::makeError(sdk::ErrorCode::kUnimplemented, "unknown job kind \"" + msg.kind + "\""));
    return;
  }
  const std::string plugin = *owner;
  if (!host_.isRunning(plugin)) {
    metrics_.countJob(plugin, msg.kind, JobOutcome::kError);
    answerOnce(
        msg.job_id, std::nullopt,
        sdk::makeError(sdk::ErrorCode::kUnavailable, "plugin \"" + plugin + "\" is not running"));
    return;
  }

  auto self = self_;
  const std::string id = msg.job_id;
  EventLoop* loop = &loop_;  // outlives the router; plugins may hold these callbacks longer
  auto signals = std::make_shared<sdk::JobSignals>(
      [loop, self, id](std::optional<double> pct, std::string text) {
        loop->post([self, id, pct, text = std::move(text)]() mutable {
          JobRouter* r = *self;
          if (!r || !r->running_.count(id)) return;
          r->send_progress_(proto::JobProgress{id, pct, std::move(text)});
        });
      });
  Running& run = running_[id];
  run.kind = msg.kind;
  run.plugin = plugin;
  run.started = std::chrono::steady_clock::now();
  run.signals = signals;
  if (msg.deadline_ms > 0) {
    const auto left =
        std::chrono::milliseconds(std::max<int64_t>(0, msg.deadline_ms - proto::nowUnixMs()));
    run.deadline_timer = loop_.after(left, [this, id, kind = msg.kind] {
      finish(id, sdk::makeError(sdk::ErrorCode::kDeadlineExceeded,
                                "job " + id + " (" + kind + ") passed its deadline"));
    });
    if (left.count() == 0) return;  // already late: answered by the timer, never run
  }
  sdk::JobReply reply([loop, self, id](sdk::Result<json> result) {
    // Always through the loop: a plugin may answer inside handleJob or from any thread.
    loop->post([self, id, result = std::move(result)]() mutable {
      if (JobRouter* r = *self) r->finish(id, std::move(result));
    });
  });
  auto dispatched = host_.dispatch(plugin, makeJob(msg, signals), std::move(reply));
  if (!dispatched.ok()) finish(id, dispatched.error());
}

void JobRouter::finish(const std::string& job_id, sdk::Result<json> result) {
  auto it = running_.find(job_id);
  if (it == running_.end()) {
    spdlog::warn("job {}: answer ignored (the job already has its result)", job_id);
    return;
  }
  Running run = std::move(it->second);
  running_.erase(it);
  run.signals->cancel();
  run.deadline_timer.reset();

  JobRecord rec;
  rec.job_id = job_id;
  rec.kind = run.kind;
  rec.plugin = run.plugin;
  rec.finished_ms = proto::nowUnixMs();
  if (result.ok())
    rec.result = std::move(result.value());
  else
    rec.error = result.error();
  // Recorded before it is sent: a redelivery after a crash then finds it.
  if (auto s = store_.put(rec); !s.ok())
    spdlog::error("job {}: cannot record its result: {}", job_id, s.error().message);

  metrics_.countJob(run.plugin, run.kind, rec.error ? JobOutcome::kError : JobOutcome::kOk);
  metrics_.observeJobDuration(run.kind, std::chrono::steady_clock::now() - run.started);
  if (rec.error)
    spdlog::info("job {} ({}) failed: {}: {}", job_id, run.kind, proto::toWire(rec.error->code),
                 rec.error->message);
  else
    spdlog::debug("job {} ({}) done", job_id, run.kind);
  answerOnce(job_id, std::move(rec.result), std::move(rec.error));
}

}  // namespace zlh::agent::core
