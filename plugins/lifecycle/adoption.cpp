// Agent start: take over every recorded instance without ever starting a second process.
#include "plugins/lifecycle/lifecycle_plugin.h"

namespace zlh::plugins::lifecycle {
namespace sdk = agent::sdk;
using sdk::InstanceState;
using sdk::isUp;

namespace {

// How long to wait for the exit the core delivers for a shim that died while the agent was down.
constexpr std::chrono::seconds kExitGrace{10};

}  // namespace

void LifecyclePlugin::adoptAll() {
  size_t n = 0;
  for (const auto& rec : ctx_.instances().list()) {
    adoptOne(rec);
    ++n;
  }
  if (n) ctx_.log().info("took over ", n, " instance(s)");
}

void LifecyclePlugin::adoptOne(const Record& rec) {
  const std::string& id = rec.id;
  auto tmpl = templateOf(rec);
  if (!tmpl.ok()) return ctx_.log().error(id, ": cannot take over: ", tmpl.error().message);
  Runtime& rt = runtime(id);
  if (rec.state == InstanceState::kInstalling) {
    // The create job is redelivered (not finished) and starts the install over.
    (void)transition(id, InstanceState::kFailed, "install interrupted (agent restarted)");
    return;
  }
  if (ctx_.supervisor().alive(id)) return adoptAlive(rec);
  if (rec.desired_state == "deleted") {
    beginAction(id, ActionKind::kDelete, Phase::kStopping, Reply{});
    return finishDelete(id);
  }
  if (isUp(rec.state) || rec.state == InstanceState::kStopping) {
    // The shim died while we were away: its exit arrives through onExit right after start; if
    // it never does, treat the process as lost.
    rt.exit_expected = rec.state == InstanceState::kStopping;
    rt.adopt_timer = ctx_.after(kExitGrace, guard([this, id, state = rec.state] {
                                  auto now = ctx_.instances().get(id);
                                  if (!now || now->state != state || ctx_.supervisor().alive(id))
                                    return;
                                  sdk::ExitRecord lost;
                                  lost.lost = true;
                                  onExit(id, ctx_.supervisor().lastExit(id).value_or(lost));
                                }));
    return;
  }
  if (rec.desired_state != "running") return;
  if (rec.state == InstanceState::kCrashed) {
    uint32_t count = rt.crashes.record(deps_.now(), (*tmpl)->restart);
    auto delay = backoffDelay(count, (*tmpl)->restart, deps_.jitter ? deps_.jitter() : 0.0);
    rt.restart_timer = ctx_.after(delay, guard([this, id] { autoRestart(id); }));
  } else if (rec.state == InstanceState::kInstalled || rec.state == InstanceState::kStopped) {
    if (auto st = startProcess(id, "desired running at agent start"); !st.ok())
      ctx_.log().error(id, ": start: ", st.error().message);
  }
}

void LifecyclePlugin::adoptAlive(const Record& rec) {
  const std::string& id = rec.id;
  Runtime& rt = runtime(id);
  ++rt.generation;
  rt.spawned_at = deps_.now();
  ctx_.log().info(id, ": re-adopted its running process (", sdk::toString(rec.state), ")");
  if (rec.desired_state == "deleted") {
    beginAction(id, ActionKind::kDelete, Phase::kStopping, Reply{});
    return beginStop(id, 0, false);
  }
  if (rec.state == InstanceState::kStopping ||
      (rec.desired_state == "stopped" && isUp(rec.state))) {
    beginAction(id, ActionKind::kStop, Phase::kStopping, Reply{});
    return beginStop(id, rt.tmpl->stop.timeout_s, true);
  }
  if (rec.state == InstanceState::kReady) {
    // Already ready: keep it, resume hang detection.
    if (rt.tmpl->readiness.ping != PingKind::kNone)
      scheduleProbe(id, std::chrono::seconds(rt.tmpl->health.interval_s));
    return;
  }
  if (rec.state != InstanceState::kRunning) {
    // The record lags behind a live process (the agent died between spawn and transition).
    if (rec.state != InstanceState::kStarting)
      (void)transition(id, InstanceState::kStarting, "re-adopted a live process");
    (void)transition(id, InstanceState::kRunning, "re-adopted a live process");
  }
  beginReadiness(id, true);
}

}  // namespace zlh::plugins::lifecycle
