// Readiness (log line, then probe) and, once ready, hang detection with the same probe.
#include <algorithm>

#include "plugins/lifecycle/lifecycle_plugin.h"

namespace zlh::plugins::lifecycle {
namespace sdk = agent::sdk;
using nlohmann::json;
using sdk::InstanceState;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

constexpr milliseconds kProbeTimeout{5000};

// A health probe may take at most one interval (1 to 5 s): a hung server is noticed quickly.
milliseconds healthTimeout(const Template& t) {
  return std::clamp(milliseconds(seconds(t.health.interval_s)), milliseconds(1000), kProbeTimeout);
}

}  // namespace

void LifecyclePlugin::beginReadiness(const std::string& id, bool adopted) {
  auto rec = ctx_.instances().get(id);
  auto tmpl = rec ? templateOf(*rec)
                  : sdk::Result<std::shared_ptr<const Template>>(
                        sdk::makeError(sdk::ErrorCode::kNotFound, id));
  if (!tmpl.ok()) return ctx_.log().error(id, ": readiness: ", tmpl.error().message);
  const ReadinessSpec& rd = (*tmpl)->readiness;
  Runtime& rt = runtime(id);
  uint64_t gen = rt.generation;
  rt.log_line_seen = rd.log_line.empty();
  rt.line_tail.clear();
  rt.adopted_running = adopted;
  rt.last_probe_error.clear();
  if (!rt.log_line_seen) {
    sdk::OutputWatcher w;
    w.on_output = guard([this, id, gen](std::string_view chunk) { onOutput(id, gen, chunk); });
    // An adopted process may have printed its line before the scrollback began: go on to the
    // probe once the replay is over.
    w.on_replay_end = guard([this, id, gen, adopted] {
      auto it = runtimes_.find(id);
      if (!adopted || it == runtimes_.end() || it->second.generation != gen ||
          it->second.log_line_seen)
        return;
      it->second.log_line_seen = true;
      scheduleProbe(id, milliseconds(0));
    });
    auto sub = ctx_.supervisor().watchOutput(id, true, std::move(w));
    if (sub.ok()) {
      rt.watch = std::move(sub.value());
    } else {
      ctx_.log().warn(id, ": cannot watch the console (", sub.error().message,
                      "): readiness without the log line");
      rt.log_line_seen = true;
    }
  }
  if (rt.log_line_seen) scheduleProbe(id, milliseconds(0));
  rt.readiness_timer =
      ctx_.after(seconds(rd.timeout_s), guard([this, id, gen] { onReadinessTimeout(id, gen); }));
}

void LifecyclePlugin::onOutput(const std::string& id, uint64_t gen, std::string_view chunk) {
  auto it = runtimes_.find(id);
  if (it == runtimes_.end() || it->second.generation != gen || it->second.log_line_seen) return;
  Runtime& rt = it->second;
  if (!rt.tmpl) return;
  const std::string& needle = rt.tmpl->readiness.log_line;
  std::string text = rt.line_tail;
  text.append(chunk);
  if (text.find(needle) == std::string::npos) {
    // Keep just enough to find the line split across chunks.
    size_t keep = std::min(text.size(), needle.size() - 1);
    rt.line_tail = text.substr(text.size() - keep);
    return;
  }
  rt.log_line_seen = true;
  rt.line_tail.clear();
  ctx_.log().debug(id, ": readiness log line seen");
  // Unsubscribing from inside the watcher's own callback is not safe: do it next turn.
  ctx_.post(guard([this, id, gen] {
    auto r = runtimes_.find(id);
    if (r != runtimes_.end() && r->second.generation == gen) r->second.watch.reset();
  }));
  scheduleProbe(id, milliseconds(0));
}

void LifecyclePlugin::scheduleProbe(const std::string& id, milliseconds delay) {
  Runtime& rt = runtime(id);
  rt.probe_timer =
      ctx_.after(delay, guard([this, id, gen = rt.generation] { runProbeNow(id, gen); }));
}

void LifecyclePlugin::runProbeNow(const std::string& id, uint64_t gen) {
  auto rec = ctx_.instances().get(id);
  auto it = runtimes_.find(id);
  if (!rec || it == runtimes_.end() || it->second.generation != gen || !it->second.tmpl) return;
  const Template& t = *it->second.tmpl;
  ProbeTarget target;
  target.kind = t.readiness.ping;
  target.host = probeHost();
  if (auto p = rec->spec.find("port"); p != rec->spec.end() && p->is_number_unsigned())
    target.port = p->get<uint16_t>();
  auto path = render(t.readiness.http_path, varsFor(*rec));
  target.http_path = path.ok() ? *path : "/";
  if (target.http_path.empty() || target.http_path[0] != '/') target.http_path.insert(0, "/");
  target.expect_status = t.readiness.expect_status;
  target.timeout = rec->state == InstanceState::kReady ? healthTimeout(t) : kProbeTimeout;
  it->second.probe_started = deps_.now();
  if (target.kind == PingKind::kNone) return onProbeResult(id, gen, ProbeResult{});
  if (target.port == 0) {
    ProbeResult r;
    r.status = sdk::makeError(sdk::ErrorCode::kFailedPrecondition, "no port to probe");
    return onProbeResult(id, gen, std::move(r));
  }
  auto done = guard([this, id, gen](ProbeResult r) { onProbeResult(id, gen, std::move(r)); });
  ctx_.runBlocking([ctx = &ctx_, target, done = std::move(done)]() mutable {
    ProbeResult r = runProbe(target);
    ctx->post([done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
  });
}

void LifecyclePlugin::onProbeResult(const std::string& id, uint64_t gen, ProbeResult result) {
  auto rec = ctx_.instances().get(id);
  auto it = runtimes_.find(id);
  if (!rec || it == runtimes_.end() || it->second.generation != gen || !it->second.tmpl) return;
  Runtime& rt = it->second;
  const Template& t = *rt.tmpl;
  if (result.slp) rt.last_ping = result.slp;
  bool probes = t.readiness.ping != PingKind::kNone;
  if (rec->state == InstanceState::kRunning) {
    if (result.status.ok()) return onReady(id, rt);
    rt.last_probe_error = result.status.error().message;
    auto delay = rt.readiness_expired ? milliseconds(seconds(t.health.interval_s))
                                      : milliseconds(t.readiness.interval_ms);
    return scheduleProbe(id, delay);
  }
  if (rec->state != InstanceState::kReady || !probes) return;
  onHealth(id, rt, result.status);
  scheduleProbe(id, seconds(t.health.interval_s));
}

void LifecyclePlugin::onReady(const std::string& id, Runtime& rt) {
  auto r = ctx_.instances().transition(id, InstanceState::kReady, "readiness checks passed");
  if (!r.ok()) return ctx_.log().error(id, ": ready: ", r.error().message);
  auto took = deps_.now() - rt.spawned_at;
  if (!rt.adopted_running) readiness_seconds_.observe(std::chrono::duration<double>(took).count());
  ctx_.log().info(id, ": ready");
  emit("instance.ready", {{"instance_id", id}, {"state_version", r->state_version}});
  rt.readiness_timer.reset();
  const Template& t = *rt.tmpl;
  rt.stable_timer = ctx_.after(seconds(t.restart.stable_after_s), guard([this, id] {
                                 auto it = runtimes_.find(id);
                                 if (it != runtimes_.end()) it->second.crashes.reset();
                               }));
  if (t.readiness.ping != PingKind::kNone) scheduleProbe(id, seconds(t.health.interval_s));
}

void LifecyclePlugin::onHealth(const std::string& id, Runtime& rt, const sdk::Status& status) {
  auto rec = ctx_.instances().get(id);
  if (!rec) return;
  if (status.ok()) {
    rt.failing_since.reset();
    if (!rec->unresponsive) return;
    auto r = ctx_.instances().update(id, [](Record& x) { x.unresponsive = false; });
    if (!r.ok()) return;
    ctx_.log().info(id, ": responsive again");
    return emit(
        "instance.unresponsive",
        {{"instance_id", id}, {"state_version", r->state_version}, {"unresponsive", false}});
  }
  rt.last_probe_error = status.error().message;
  auto now = deps_.now();
  if (!rt.failing_since) rt.failing_since = rt.probe_started;  // failing since it was asked
  uint32_t limit = rt.tmpl->health.unresponsive_after_s;
  if (limit == 0 || rec->unresponsive || now - *rt.failing_since < seconds(limit)) return;
  auto r = ctx_.instances().update(id, [](Record& x) { x.unresponsive = true; });
  if (!r.ok()) return;
  ctx_.log().warn(id, ": unresponsive for ", limit, " s: ", rt.last_probe_error);
  emit("instance.unresponsive",
       {{"instance_id", id}, {"state_version", r->state_version}, {"unresponsive", true}});
}

void LifecyclePlugin::onReadinessTimeout(const std::string& id, uint64_t gen) {
  auto rec = ctx_.instances().get(id);
  auto it = runtimes_.find(id);
  if (!rec || it == runtimes_.end() || it->second.generation != gen || !it->second.tmpl) return;
  if (rec->state != InstanceState::kRunning) return;
  Runtime& rt = it->second;
  const ReadinessSpec& rd = rt.tmpl->readiness;
  rt.readiness_expired = true;
  std::string why = "readiness timed out after " + std::to_string(rd.timeout_s) + " s: " +
                    (rt.log_line_seen ? "last probe: " + rt.last_probe_error
                                      : "log line \"" + rd.log_line + "\" not seen");
  ctx_.log().warn(id, ": ", why);
  if (!rd.fail_on_timeout || rt.action) return setReason(id, why);
  rt.fail_reason = why;
  beginAction(id, ActionKind::kKill, Phase::kStopping, Reply{});
  beginStop(id, 0, false);  // the exit turns fail_reason into `failed`
}

}  // namespace zlh::plugins::lifecycle
