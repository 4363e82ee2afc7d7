// Per-instance metrics (docs/metrics.md, "Instances"): labels instance_id and template only, no
// user data. Process CPU/memory are sampled every usage_interval_s and instance directory sizes
// every disk_usage_interval_s on the pool; a scrape only writes what was sampled last, so it
// never walks /proc or a world directory.
#include <sys/time.h>

#include <memory>

#include "plugins/lifecycle/lifecycle_plugin.h"

namespace zlh::plugins::lifecycle {
namespace sdk = agent::sdk;
using sdk::InstanceState;

namespace {

double wallNow() {
  timeval tv{};
  gettimeofday(&tv, nullptr);
  return double(tv.tv_sec) + double(tv.tv_usec) / 1e6;
}

constexpr InstanceState kStates[] = {
    InstanceState::kInstalling, InstanceState::kInstalled, InstanceState::kStarting,
    InstanceState::kRunning,    InstanceState::kReady,     InstanceState::kStopping,
    InstanceState::kStopped,    InstanceState::kCrashed,   InstanceState::kFailed};

}  // namespace

void LifecyclePlugin::writeInstanceMetrics(sdk::MetricsWriter& out) {
  const auto records = ctx_.instances().list();
  const auto now = deps_.now();
  const double wall = wallNow();
  sdk::Labels l(2);
  l[0].first = "instance_id";
  l[1].first = "template";
  auto each = [&](auto&& fn) {
    for (const auto& r : records) {
      l.resize(2);
      l[0].second = r.id;
      l[1].second = r.template_name;
      auto it = runtimes_.find(r.id);
      fn(r, it == runtimes_.end() ? nullptr : &it->second);
    }
  };
  each([&](const Record& r, const Runtime*) {
    out.gauge("zlh_instance_up", "1 while the instance is ready and its health checks pass.",
              r.state == InstanceState::kReady && !r.unresponsive ? 1 : 0, l);
  });
  each([&](const Record& r, const Runtime*) {
    l.emplace_back("state", "");
    for (auto s : kStates) {
      l[2].second = std::string(sdk::toString(s));
      out.gauge("zlh_instance_state", "Observed state of the instance: 1 for the current state.",
                r.state == s ? 1 : 0, l);
    }
  });
  each([&](const Record& r, const Runtime* rt) {
    if (!rt || !sdk::hasProcess(r.state)) return;
    const double since = rt->started_at
                             ? wall - *rt->started_at
                             : std::chrono::duration<double>(now - rt->spawned_at).count();
    out.gauge("zlh_instance_uptime_seconds", "Time since the instance's process started.",
              since < 0 ? 0 : since, l);
  });
  each([&](const Record& r, const Runtime* rt) {
    if (rt && rt->usage && sdk::hasProcess(r.state))
      out.counter("zlh_instance_cpu_seconds_total",
                  "CPU time of the instance's process tree (sampled every usage_interval_s).",
                  rt->usage->cpu_seconds, l);
  });
  each([&](const Record& r, const Runtime* rt) {
    if (rt && rt->usage && sdk::hasProcess(r.state))
      out.gauge("zlh_instance_memory_bytes",
                "Anonymous resident memory of the instance's process tree (no page cache).",
                double(rt->usage->rss_anon_bytes), l);
  });
  each([&](const Record& r, const Runtime* rt) {
    if (rt && rt->cgroup_memory && sdk::hasProcess(r.state))
      out.gauge("zlh_instance_cgroup_memory_bytes",
                "memory.current of the instance's own cgroup (where limits apply).",
                double(*rt->cgroup_memory), l);
  });
  each([&](const Record&, const Runtime* rt) {
    if (rt && rt->disk_bytes)
      out.gauge("zlh_instance_disk_bytes",
                "Disk used by the instance's directory (measured every disk_usage_interval_s).",
                double(*rt->disk_bytes), l);
  });
  each([&](const Record& r, const Runtime* rt) {
    if (rt && rt->last_ping && rt->last_ping->players_online && r.state == InstanceState::kReady)
      out.gauge("zlh_instance_players_online",
                "Players online from the last Server List Ping (Minecraft templates).",
                double(*rt->last_ping->players_online), l);
  });
  each([&](const Record&, const Runtime* rt) {
    out.counter("zlh_instance_restarts_total",
                "Automatic restarts after a crash since the agent started.",
                double(rt ? rt->restarts : 0), l);
  });
}

void LifecyclePlugin::scheduleUsage(std::chrono::milliseconds delay) {
  usage_timer_ = ctx_.after(delay, guard([this] { refreshUsage(); }));
}

void LifecyclePlugin::refreshUsage() {
  // Fresh pids from each live shim (also adopted ones), then one /proc scan on the pool.
  struct Round {
    std::map<std::string, int> roots;
    std::map<std::string, std::string> cgroups;
    std::map<std::string, double> started;
    size_t pending = 0;
  };
  auto round = std::make_shared<Round>();
  std::vector<std::string> ids;
  for (const auto& r : ctx_.instances().list())
    if (sdk::hasProcess(r.state) && ctx_.supervisor().alive(r.id)) ids.push_back(r.id);
  // The next round is due whatever happens to this one: a shim that never answers status must
  // not stop the sampling of the others.
  scheduleUsage(std::chrono::seconds(config_.usage_interval_s));
  if (ids.empty()) return;
  round->pending = ids.size();
  using Usage = std::map<int, ProcessTreeUsage>;
  using Cgroups = std::map<std::string, std::optional<uint64_t>>;
  auto apply = guard([this, round](Usage usage, Cgroups cg) {
    for (const auto& [id, pid] : round->roots) {
      auto rt = runtimes_.find(id);
      if (rt == runtimes_.end()) continue;
      auto u = usage.find(pid);
      if (u != usage.end()) rt->second.usage = u->second;
      auto c = cg.find(id);
      rt->second.cgroup_memory = c == cg.end() ? std::nullopt : c->second;
      auto st = round->started.find(id);
      if (st != round->started.end()) rt->second.started_at = st->second;
    }
  });
  auto finish = [ctx = &ctx_, round, procfs = config_.procfs, apply]() mutable {
    ctx->runBlocking([ctx, round, procfs, apply]() mutable {
      std::vector<int> pids;
      for (const auto& [id, pid] : round->roots) pids.push_back(pid);
      Usage usage = processTreeUsage(procfs, pids);
      Cgroups cg;
      for (const auto& [id, dir] : round->cgroups) cg[id] = cgroupMemoryBytes(dir);
      ctx->post([apply, usage = std::move(usage), cg = std::move(cg)]() mutable {
        apply(std::move(usage), std::move(cg));
      });
    });
  };
  for (const auto& id : ids) {
    ctx_.supervisor().status(id, [round, id, finish](sdk::Result<sdk::ProcessStatus> st) mutable {
      if (st.ok() && st->running && st->child_pid > 0) {
        round->roots[id] = st->child_pid;
        if (auto t = parseRfc3339Utc(st->started_at)) round->started[id] = *t;
        const auto& lim = st->limits;
        if (lim.value("applied", false) && lim.contains("cgroup") && lim["cgroup"].is_string())
          round->cgroups[id] = lim["cgroup"].get<std::string>();
      }
      if (--round->pending == 0) finish();
    });
  }
}

void LifecyclePlugin::scheduleDisk(std::chrono::milliseconds delay) {
  disk_timer_ = ctx_.after(delay, guard([this] { refreshDisk(); }));
}

void LifecyclePlugin::refreshDisk() {
  std::vector<std::pair<std::string, std::filesystem::path>> dirs;
  for (const auto& r : ctx_.instances().list()) dirs.emplace_back(r.id, r.dir);
  const auto next = std::chrono::seconds(config_.disk_usage_interval_s);
  using Sizes = std::map<std::string, std::optional<uint64_t>>;
  auto apply = guard([this, next](Sizes sizes) {
    for (const auto& [id, bytes] : sizes)
      if (auto rt = runtimes_.find(id); rt != runtimes_.end()) rt->second.disk_bytes = bytes;
    scheduleDisk(next);
  });
  ctx_.runBlocking([ctx = &ctx_, dirs = std::move(dirs), apply]() mutable {
    Sizes sizes;
    for (const auto& [id, dir] : dirs) sizes[id] = directoryUsageBytes(dir);
    ctx->post([apply, sizes = std::move(sizes)]() mutable { apply(std::move(sizes)); });
  });
}

}  // namespace zlh::plugins::lifecycle
