// lifecycle.start/stop/restart/kill/delete/status and the one-action-per-instance slot.
#include "plugins/lifecycle/lifecycle_plugin.h"

namespace zlh::plugins::lifecycle {
namespace sdk = agent::sdk;
using nlohmann::json;
using sdk::InstanceState;
using sdk::isUp;

namespace {

sdk::Error notFound(const std::string& id) {
  return sdk::makeError(sdk::ErrorCode::kNotFound, "instance " + id + " not found");
}

sdk::Error precondition(const std::string& id, InstanceState s) {
  return sdk::makeError(sdk::ErrorCode::kFailedPrecondition,
                        "instance " + id + " is " + std::string(sdk::toString(s)));
}

}  // namespace

sdk::Result<LifecyclePlugin::Record> LifecyclePlugin::powerTarget(
    const std::string& id, std::initializer_list<InstanceState> refused) {
  auto rec = ctx_.instances().get(id);
  if (!rec) return notFound(id);
  const Runtime& rt = runtime(id);
  if (rt.action)
    return sdk::makeError(
        sdk::ErrorCode::kConflict,
        "another power action (" + std::string(actionName(rt.action->kind)) + ") is in progress");
  for (InstanceState s : refused)
    if (rec->state == s) return precondition(id, s);
  return *rec;
}

const char* LifecyclePlugin::actionName(ActionKind kind) {
  switch (kind) {
    case ActionKind::kCreate:
      return "create";
    case ActionKind::kStart:
      return "start";
    case ActionKind::kStop:
      return "stop";
    case ActionKind::kRestart:
      return "restart";
    case ActionKind::kKill:
      return "kill";
    case ActionKind::kDelete:
      return "delete";
  }
  return "?";
}

void LifecyclePlugin::jobStart(const sdk::Job& job, Reply reply) {
  const std::string& id = *job.instance_id;
  auto rec = powerTarget(id, {InstanceState::kInstalling, InstanceState::kStopping});
  if (!rec.ok()) return reply(rec.error());
  Runtime& rt = runtime(id);
  setDesired(id, "running");
  if (isUp(rec->state)) return reply(viewResult(id));  // already up: nothing to do
  rt.restart_timer.reset();
  spawnAction(id, rec->state, ActionKind::kStart, std::move(reply));
}

void LifecyclePlugin::jobStop(const sdk::Job& job, Reply reply) {
  const std::string& id = *job.instance_id;
  auto rec = powerTarget(id, {InstanceState::kInstalling});
  if (!rec.ok()) return reply(rec.error());
  Runtime& rt = runtime(id);
  auto tmpl = templateOf(*rec);
  if (!tmpl.ok()) return reply(tmpl.error());
  uint32_t timeout = (*tmpl)->stop.timeout_s;
  if (auto it = job.params.find("timeout_s"); job.params.is_object() && it != job.params.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 1 || it->get<int64_t>() > 86400)
      return reply(sdk::makeError(sdk::ErrorCode::kInvalidArgument,
                                  "timeout_s: expected an integer from 1 to 86400"));
    timeout = it->get<uint32_t>();
  }
  setDesired(id, "stopped");
  rt.restart_timer.reset();
  if (rec->state == InstanceState::kCrashed || rec->state == InstanceState::kFailed)
    (void)transition(id, InstanceState::kStopped, "stop requested");
  if (!isUp(rec->state) && rec->state != InstanceState::kStopping) return reply(viewResult(id));
  beginAction(id, ActionKind::kStop, Phase::kStopping, std::move(reply));
  beginStop(id, timeout, true);
}

void LifecyclePlugin::jobRestart(const sdk::Job& job, Reply reply) {
  const std::string& id = *job.instance_id;
  auto rec = powerTarget(id, {InstanceState::kInstalling, InstanceState::kStopping});
  if (!rec.ok()) return reply(rec.error());
  Runtime& rt = runtime(id);
  auto tmpl = templateOf(*rec);
  if (!tmpl.ok()) return reply(tmpl.error());
  setDesired(id, "running");
  rt.restart_timer.reset();
  if (isUp(rec->state)) {
    beginAction(id, ActionKind::kRestart, Phase::kStopping, std::move(reply));
    rt.action->start_after = true;
    return beginStop(id, (*tmpl)->stop.timeout_s, true);
  }
  spawnAction(id, rec->state, ActionKind::kRestart, std::move(reply));
}

void LifecyclePlugin::spawnAction(const std::string& id, InstanceState from, ActionKind kind,
                                  Reply reply) {
  if (from == InstanceState::kFailed) runtime(id).crashes.reset();  // a new start, a new count
  beginAction(id, kind, Phase::kSpawning, std::move(reply));
  armDeadline(id, std::chrono::seconds(config_.start_timeout_s));
  if (auto st = startProcess(id, std::string(actionName(kind)) + " requested"); !st.ok())
    finishAction(id, st.error());
}

void LifecyclePlugin::jobKill(const sdk::Job& job, Reply reply) {
  const std::string& id = *job.instance_id;
  auto rec = ctx_.instances().get(id);
  if (!rec) return reply(notFound(id));
  Runtime& rt = runtime(id);
  if (rec->state == InstanceState::kInstalling)
    return reply(sdk::makeError(sdk::ErrorCode::kFailedPrecondition,
                                "instance " + id + " is installing (delete it to abort)"));
  if (rt.action) {
    if (rt.action->kind == ActionKind::kKill) return rt.action->replies.push_back(std::move(reply));
    if (rt.action->kind == ActionKind::kDelete)
      return rt.action->kill_replies.push_back(std::move(reply));
    supersede(id, ActionKind::kKill);
  }
  setDesired(id, "stopped");
  rt.restart_timer.reset();
  beginAction(id, ActionKind::kKill, Phase::kStopping, std::move(reply));
  if (ctx_.supervisor().alive(id) || rt.spawning || isUp(rec->state) ||
      rec->state == InstanceState::kStopping)
    return beginStop(id, 0, false);
  if (rec->state != InstanceState::kStopped &&
      sdk::transitionAllowed(rec->state, InstanceState::kStopped))
    (void)transition(id, InstanceState::kStopped, "killed");
  finishAction(id, viewResult(id));
}

void LifecyclePlugin::jobDelete(const sdk::Job& job, Reply reply) {
  const std::string& id = *job.instance_id;
  auto rec = ctx_.instances().get(id);
  if (!rec) return reply(json{{"deleted", true}, {"existed", false}});
  Runtime& rt = runtime(id);
  std::vector<Reply> kills;
  if (rt.action) {
    Action& a = *rt.action;
    if (a.kind == ActionKind::kDelete) return a.replies.push_back(std::move(reply));
    if (a.kind == ActionKind::kCreate && a.phase == Phase::kInstalling) {
      setDesired(id, "deleted");
      a.abort->store(true);
      return a.delete_replies.push_back(std::move(reply));
    }
    if (a.kind == ActionKind::kKill) {
      kills = std::move(a.replies);
      rt.action.reset();
    } else {
      supersede(id, ActionKind::kDelete);
    }
  }
  setDesired(id, "deleted");
  rt.restart_timer.reset();
  beginAction(id, ActionKind::kDelete, Phase::kStopping, std::move(reply));
  rt.action->kill_replies = std::move(kills);
  if (ctx_.supervisor().alive(id) || rt.spawning || isUp(rec->state) ||
      rec->state == InstanceState::kStopping)
    return beginStop(id, 0, false);
  finishDelete(id);
}

void LifecyclePlugin::jobStatus(const sdk::Job& job, Reply reply) {
  const std::string& id = *job.instance_id;
  auto rec = ctx_.instances().get(id);
  if (!rec) return reply(notFound(id));
  Runtime& rt = runtime(id);
  auto last = ctx_.supervisor().lastExit(id);
  json out{{"instance", view(*rec)},
           {"process", nullptr},
           {"last_exit", last ? last->toJson() : json(nullptr)},
           {"ping", rt.last_ping ? rt.last_ping->summary() : json(nullptr)},
           {"crash_count", rt.crashes.count()}};
  if (!ctx_.supervisor().alive(id)) return reply(out);
  auto shared = std::make_shared<Reply>(std::move(reply));
  ctx_.supervisor().status(id, [shared, out](sdk::Result<sdk::ProcessStatus> st) mutable {
    if (st.ok())
      out["process"] = json{{"running", st->running},
                            {"shim_pid", st->shim_pid},
                            {"child_pid", st->child_pid},
                            {"started_at", st->started_at},
                            {"limits", st->limits}};
    (*shared)(out);
  });
}

void LifecyclePlugin::beginAction(const std::string& id, ActionKind kind, Phase phase,
                                  Reply reply) {
  Runtime& rt = runtime(id);
  rt.action.emplace();
  rt.action->kind = kind;
  rt.action->phase = phase;
  rt.action->id = ++next_action_id_;
  if (reply.valid()) rt.action->replies.push_back(std::move(reply));
}

void LifecyclePlugin::supersede(const std::string& id, ActionKind by) {
  Runtime& rt = runtime(id);
  if (!rt.action) return;
  std::string msg = std::string(actionName(rt.action->kind)) + " of instance " + id +
                    " superseded by " + actionName(by);
  ctx_.log().info(msg);
  auto replies = std::move(rt.action->replies);
  rt.action.reset();
  for (auto& r : replies) r(sdk::makeError(sdk::ErrorCode::kConflict, msg));
}

void LifecyclePlugin::finishAction(const std::string& id, sdk::Result<json> result) {
  auto it = runtimes_.find(id);
  if (it == runtimes_.end() || !it->second.action) return;
  Action a = std::move(*it->second.action);
  it->second.action.reset();
  for (auto& r : a.replies) r(result);
  for (auto& r : a.kill_replies) r(result.ok() ? viewResult(id) : result);
  for (auto& r : a.delete_replies)
    r(result.ok() ? json{{"deleted", true}, {"existed", true}} : result);
}

void LifecyclePlugin::finishDelete(const std::string& id) {
  auto rec = ctx_.instances().get(id);
  Runtime& rt = runtime(id);
  std::vector<Reply> kills;
  if (rt.action) kills = std::move(rt.action->kill_replies);
  json last_view = rec ? json{{"instance", view(*rec)}} : json(nullptr);
  if (rec) {
    if (auto st = ctx_.instances().remove(id); !st.ok()) {
      for (auto& r : kills) r(st.error());
      return finishAction(id, st.error().withContext("delete " + id));
    }
  }
  if (auto st = ctx_.supervisor().forget(id); !st.ok())
    ctx_.log().warn(id, ": forget runtime files: ", st.error().message);
  ctx_.log().info(id, ": deleted");
  for (auto& r : kills) r(last_view);
  finishAction(id, json{{"deleted", true}, {"existed", true}});
  runtimes_.erase(id);
}

void LifecyclePlugin::armDeadline(const std::string& id, std::chrono::seconds after) {
  Runtime& rt = runtime(id);
  if (!rt.action) return;
  rt.action->deadline =
      ctx_.after(after, guard([this, id, aid = rt.action->id] { onActionDeadline(id, aid); }));
}

void LifecyclePlugin::onActionDeadline(const std::string& id, uint64_t action_id) {
  auto it = runtimes_.find(id);
  if (it == runtimes_.end() || !it->second.action || it->second.action->id != action_id) return;
  Runtime& rt = it->second;
  Action& a = *rt.action;
  std::string what = std::string(actionName(a.kind)) + " of instance " + id;
  ctx_.log().warn(what, ": deadline passed");
  if (a.phase == Phase::kInstalling) {
    a.abort->store(true);  // the install returns soon and cleans up (onInstalled)
    return;
  }
  auto rec = ctx_.instances().get(id);
  if (a.phase == Phase::kSpawning) {
    ++rt.generation;  // a spawn completing later is an orphan and gets killed
    rt.spawning = false;
    auto err = sdk::makeError(sdk::ErrorCode::kDeadlineExceeded,
                              what + ": the process did not start within " +
                                  std::to_string(config_.start_timeout_s) + " s");
    if (a.kind == ActionKind::kCreate) return abandonCreate(id, err);
    if (rec) (void)transition(id, InstanceState::kFailed, err.message);
    return finishAction(id, err);
  }
  if (rec && !ctx_.supervisor().alive(id)) return onExpectedExit(id, *rec);  // exit never came
  auto err = sdk::makeError(sdk::ErrorCode::kDeadlineExceeded,
                            what + ": the process did not exit after SIGKILL");
  if (rec) (void)transition(id, InstanceState::kFailed, err.message);
  rt.exit_expected = false;
  finishAction(id, err);
}

}  // namespace zlh::plugins::lifecycle
