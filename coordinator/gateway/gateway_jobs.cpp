// Gateway: jobs sent through the API and their answers.
#include <spdlog/spdlog.h>

#include "coordinator/gateway/gateway.h"

namespace zlh::coordinator::gateway {
namespace {
using proto::ErrorCode;
using proto::makeError;

std::string jobKey(const std::string& node_id, const std::string& job_id) {
  return node_id + '/' + job_id;
}
}  // namespace

void Gateway::dispatchJob(JobRequest req, JobCallback done) {
  auto r = ready_by_node_.find(req.node_id);
  if (shutting_down_ || r == ready_by_node_.end()) {
    metrics_.incJob(req.kind, "unavailable");
    done(makeError(ErrorCode::kUnavailable, "node " + req.node_id + " is offline"));
    return;
  }
  Link& link = links_.at(r->second);
  uint64_t waiter = next_waiter_++;
  proto::JobStart start;
  start.job_id = req.job_id;
  start.kind = req.kind;
  start.instance_id = req.instance_id;
  start.params = std::move(req.params);
  start.deadline_ms = proto::nowUnixMs() + req.timeout.count();

  PendingJob job{link.id, req.node_id, req.job_id, req.kind, std::move(done), nullptr};
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(req.timeout).count();
  job.timer = executor_.runAfter(req.timeout, [this, waiter, secs, id = req.job_id] {
    finishJob(waiter,
              makeError(ErrorCode::kDeadlineExceeded,
                        "job " + id + " did not finish within " + std::to_string(secs) + " s"),
              "timeout");
  });
  jobs_.emplace(waiter, std::move(job));
  waiters_by_job_.emplace(jobKey(req.node_id, req.job_id), waiter);
  spdlog::debug("node {}: job.start {} ({})", req.node_id, req.job_id, req.kind);
  send(link, proto::encode(start));
}

void Gateway::handleJobDone(Link& link, const proto::Envelope& env) {
  auto done = proto::bodyAs<proto::JobDone>(env);
  if (!done) {
    badMessage(link, "bad_shape", done.error().message, env.id);
    return;
  }
  auto [begin, end] = waiters_by_job_.equal_range(jobKey(link.node_id, done->job_id));
  std::vector<uint64_t> waiters;
  for (auto it = begin; it != end; ++it) waiters.push_back(it->second);
  if (waiters.empty()) {
    spdlog::debug("node {}: job.done for {} that nobody waits for", link.node_id, done->job_id);
    return;
  }
  for (auto w : waiters) {
    if (done->error) {
      finishJob(w, *done->error, "error");
    } else {
      finishJob(w, JobOutcome{done->job_id, done->result.value_or(nlohmann::json::object()),
                              done->redelivered},
                "ok");
    }
  }
}

void Gateway::finishJob(uint64_t waiter, proto::Result<JobOutcome> outcome, const char* result_label) {
  auto it = jobs_.find(waiter);
  if (it == jobs_.end()) return;
  PendingJob job = std::move(it->second);
  jobs_.erase(it);
  auto [begin, end] = waiters_by_job_.equal_range(jobKey(job.node_id, job.job_id));
  for (auto w = begin; w != end; ++w) {
    if (w->second == waiter) {
      waiters_by_job_.erase(w);
      break;
    }
  }
  if (job.timer) job.timer->cancel();
  metrics_.incJob(job.kind, result_label);
  job.done(std::move(outcome));
}

void Gateway::failJobsOfLink(LinkId link, const std::string& message) {
  std::vector<uint64_t> waiters;
  for (const auto& [w, j] : jobs_)
    if (j.link == link) waiters.push_back(w);
  for (auto w : waiters) finishJob(w, makeError(ErrorCode::kUnavailable, message), "unavailable");
}

}  // namespace zlh::coordinator::gateway
