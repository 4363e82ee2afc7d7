// Spawning and stopping processes through the supervisor, and what an exit means (crash policy).
#include "plugins/lifecycle/lifecycle_plugin.h"
#include "plugins/lifecycle/params.h"

namespace zlh::plugins::lifecycle {
namespace sdk = agent::sdk;
using nlohmann::json;
using sdk::InstanceState;
using sdk::isUp;

namespace {

std::string describeExit(const sdk::ExitRecord& e) {
  if (e.lost) return "the process is gone and its exit record was lost";
  if (e.oom_killed) return "killed by the OOM killer";
  if (e.signal) return "killed by signal " + *e.signal;
  if (e.code) return "exited with code " + std::to_string(*e.code);
  return "exited";
}

}  // namespace

sdk::Status LifecyclePlugin::startProcess(const std::string& id, const std::string& reason) {
  auto rec = ctx_.instances().get(id);
  if (!rec) return sdk::makeError(sdk::ErrorCode::kNotFound, "instance " + id + " not found");
  auto tmpl = templateOf(*rec);
  if (!tmpl.ok()) return tmpl.error();
  const Template& t = **tmpl;
  RenderVars vars = varsFor(*rec);
  auto argv = renderAll(t.start_command, vars);
  if (!argv.ok()) return argv.error().withContext("start.command");
  sdk::ProcessSpec ps;
  ps.command = std::move(argv.value());
  ps.cwd = rec->data_dir;
  ps.env = {{"PATH", config_.path_env},
            {"HOME", rec->data_dir.string()},
            {"LANG", "C.UTF-8"},
            {"ZLH_INSTANCE_ID", id}};
  for (const auto& [k, v] : t.start_env) {
    auto value = render(v, vars);
    if (!value.ok()) return value.error().withContext("start.env." + k);
    ps.env[k] = *value;
  }
  const json job_env = rec->spec.value("env", json::object());  // named: items() needs it alive
  for (const auto& [k, v] : job_env.items())
    if (v.is_string()) ps.env[k] = v.get<std::string>();
  ResourceSpec res = resourcesFromJson(rec->spec.value("resources", json()), t.resources);
  ps.stop_grace_s = t.stop.timeout_s;
  ps.memory_max_bytes = uint64_t(res.memory_mb) << 20;
  ps.cpu_max_pct = res.cpu_pct;
  ps.pids_max = res.pids_max;
  if (auto st = transition(id, InstanceState::kStarting, reason); !st.ok()) return st;
  Runtime& rt = runtime(id);
  stopMonitoring(rt);
  uint64_t gen = ++rt.generation;
  rt.spawning = true;
  rt.exit_expected = false;
  rt.fail_reason.reset();
  rt.readiness_expired = false;
  rt.spawned_at = deps_.now();
  ctx_.supervisor().spawn(id, ps, guard([this, id, gen](sdk::Result<sdk::ProcessStatus> r) {
                            onSpawned(id, gen, std::move(r));
                          }));
  return {};
}

void LifecyclePlugin::onSpawned(const std::string& id, uint64_t gen,
                                sdk::Result<sdk::ProcessStatus> result) {
  auto rec = ctx_.instances().get(id);
  auto it = runtimes_.find(id);
  if (!rec || it == runtimes_.end() || it->second.generation != gen) {
    if (result.ok() && ctx_.supervisor().alive(id)) {
      ctx_.log().warn(id, ": a spawn finished after its start was abandoned: killing it");
      sendKill(id);
    }
    return;
  }
  Runtime& rt = it->second;
  rt.spawning = false;
  Action* a = rt.action ? &*rt.action : nullptr;
  if (!result.ok()) {
    auto err = result.error().withContext("spawn");
    if (a && a->phase == Phase::kStopping) return onExpectedExit(id, *rec);
    if (a && a->kind == ActionKind::kCreate)
      return abandonCreate(id, err.withContext("create " + id));
    (void)transition(id, InstanceState::kFailed, err.message);
    if (a) finishAction(id, err);
    return;
  }
  if (a && a->phase == Phase::kStopping) return sendKill(id);  // stopped before it came up
  if (!transition(id, InstanceState::kRunning, "process started").ok()) return;
  beginReadiness(id, false);
  if (a && a->phase == Phase::kSpawning) finishAction(id, viewResult(id));
}

void LifecyclePlugin::beginStop(const std::string& id, uint32_t timeout_s, bool graceful) {
  auto rec = ctx_.instances().get(id);
  if (!rec) return;
  Runtime& rt = runtime(id);
  rt.exit_expected = true;
  stopMonitoring(rt);
  if (isUp(rec->state))
    (void)transition(id, InstanceState::kStopping, graceful ? "stop requested" : "kill requested");
  auto kill_wait = std::chrono::seconds(config_.kill_timeout_s);
  if (!graceful || !ctx_.supervisor().alive(id)) {
    // Not alive: a spawn in flight is killed when it lands (onSpawned); otherwise the exit is on
    // its way, and the deadline covers an exit that never comes.
    if (ctx_.supervisor().alive(id)) sendKill(id);
    return armDeadline(id, kill_wait);
  }
  auto tmpl = templateOf(*rec);
  sdk::Status sent;
  if (tmpl.ok() && (*tmpl)->stop.method == StopMethod::kCommand)
    sent = ctx_.supervisor().sendInput(id, (*tmpl)->stop.command + "\n");
  else
    sent = ctx_.supervisor().signal(id, tmpl.ok() ? (*tmpl)->stop.signal : "TERM");
  if (!sent.ok()) {
    ctx_.log().warn(id, ": stop: ", sent.error().message, "; killing");
    sendKill(id);
    return armDeadline(id, kill_wait);
  }
  if (rt.action)
    rt.action->kill_timer = ctx_.after(std::chrono::seconds(timeout_s), guard([this, id] {
                                         ctx_.log().warn(id, ": did not stop in time: SIGKILL");
                                         Runtime& r = runtime(id);
                                         if (r.action) r.action->escalated = true;
                                         sendKill(id);
                                       }));
  armDeadline(id, std::chrono::seconds(timeout_s) + kill_wait);
}

void LifecyclePlugin::sendKill(const std::string& id) {
  if (!ctx_.supervisor().alive(id)) return;
  if (auto st = ctx_.supervisor().signal(id, "KILL"); !st.ok())
    ctx_.log().error(id, ": SIGKILL: ", st.error().message);
}

void LifecyclePlugin::onExit(const std::string& id, const sdk::ExitRecord& exit) {
  auto rec = ctx_.instances().get(id);
  if (!rec) {
    (void)ctx_.supervisor().forget(id);
    return;
  }
  Runtime& rt = runtime(id);
  rt.adopt_timer.reset();
  stopMonitoring(rt);
  if (rec->unresponsive) {
    auto r = ctx_.instances().update(id, [](Record& x) { x.unresponsive = false; });
    if (r.ok())
      emit("instance.unresponsive",
           {{"instance_id", id}, {"state_version", r->state_version}, {"unresponsive", false}});
  }
  if (rt.exit_expected || rec->state == InstanceState::kStopping) return onExpectedExit(id, *rec);
  if (!isUp(rec->state)) {
    ctx_.log().debug(id, ": exit in state ", sdk::toString(rec->state), " ignored");
    return;
  }
  ++rt.generation;  // a spawn answer still on its way is stale now
  rt.spawning = false;
  if (exit.code && *exit.code == 0 && !exit.signal && !exit.lost && !exit.oom_killed) {
    (void)transition(id, InstanceState::kStopped, "process exited cleanly (code 0)");
    setDesired(id, "stopped");
  } else {
    onCrash(id, *rec, exit);
  }
  // A start still waiting for its spawn answer: the process did run; the exit is reported by
  // state and events, the job answers with what the instance is now.
  if (rt.action && rt.action->phase == Phase::kSpawning) finishAction(id, viewResult(id));
}

void LifecyclePlugin::onExpectedExit(const std::string& id, const Record& rec) {
  Runtime& rt = runtime(id);
  rt.exit_expected = false;
  auto fail = std::move(rt.fail_reason);
  rt.fail_reason.reset();
  bool killed =
      rt.action && (rt.action->kind == ActionKind::kKill || rt.action->kind == ActionKind::kDelete);
  InstanceState target = fail ? InstanceState::kFailed : InstanceState::kStopped;
  bool escalated = rt.action && rt.action->escalated;
  std::string reason = fail        ? *fail
                       : killed    ? "killed"
                       : escalated ? "killed after the stop timeout"
                                   : "stopped";
  if (rec.state != target && sdk::transitionAllowed(rec.state, target))
    (void)transition(id, target, reason);
  if (!rt.action) return;
  Action& a = *rt.action;
  if (a.kind == ActionKind::kDelete) return finishDelete(id);
  if (!a.start_after) return finishAction(id, viewResult(id));
  a.phase = Phase::kSpawning;
  a.kill_timer.reset();
  armDeadline(id, std::chrono::seconds(config_.start_timeout_s));
  if (auto st = startProcess(id, "restarting"); !st.ok()) finishAction(id, st.error());
}

void LifecyclePlugin::onCrash(const std::string& id, const Record& rec,
                              const sdk::ExitRecord& exit) {
  Runtime& rt = runtime(id);
  auto tmpl = templateOf(rec);
  RestartSpec spec = tmpl.ok() ? (*tmpl)->restart : RestartSpec{};
  crashes_total_++;
  uint32_t count = rt.crashes.record(deps_.now(), spec);
  auto crashed = ctx_.instances().transition(id, InstanceState::kCrashed, describeExit(exit));
  if (!crashed.ok()) return ctx_.log().error(id, ": crashed: ", crashed.error().message);
  ctx_.log().warn(id, ": crashed (", describeExit(exit), "), ", count, " in the last ",
                  spec.crash_loop_window_s, " s");
  json ev = exit.toJson();
  ev["crash_count"] = count;
  bool loop = isCrashLoop(count, spec);
  if (rec.desired_state == "running" && !loop) {
    auto delay = backoffDelay(count, spec, deps_.jitter ? deps_.jitter() : 0.0);
    ev["restart_in_s"] = double(delay.count()) / 1000.0;
    rt.restart_timer = ctx_.after(delay, guard([this, id] { autoRestart(id); }));
  }
  emit("instance.crashed",
       {{"instance_id", id}, {"state_version", crashed->state_version}, {"exit", ev}});
  if (loop) (void)transition(id, InstanceState::kFailed, crashLoopReason(count, spec));
}

void LifecyclePlugin::autoRestart(const std::string& id) {
  auto rec = ctx_.instances().get(id);
  Runtime& rt = runtime(id);
  if (!rec || rec->state != InstanceState::kCrashed || rec->desired_state != "running" || rt.action)
    return;
  restarts_total_++;
  rt.restarts++;
  if (auto st = startProcess(id, "restart after crash"); !st.ok())
    (void)transition(id, InstanceState::kFailed, "restart failed: " + st.error().message);
}

void LifecyclePlugin::stopMonitoring(Runtime& rt) {
  rt.probe_timer.reset();
  rt.readiness_timer.reset();
  rt.stable_timer.reset();
  rt.watch.reset();
  rt.failing_since.reset();
  rt.log_line_seen = false;
  rt.line_tail.clear();
}

}  // namespace zlh::plugins::lifecycle
