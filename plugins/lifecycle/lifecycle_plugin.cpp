#include "plugins/lifecycle/lifecycle_plugin.h"

#include <random>

#include "plugins/lifecycle/params.h"
#include "plugins/lifecycle/socket_util.h"

namespace zlh::plugins::lifecycle {
namespace sdk = agent::sdk;
using nlohmann::json;
using sdk::InstanceState;

namespace {

const char* const kKinds[] = {"lifecycle.create",  "lifecycle.start", "lifecycle.stop",
                              "lifecycle.restart", "lifecycle.kill",  "lifecycle.delete",
                              "lifecycle.status"};

// Where instances bind is what must be free. (public_host may be an address of a NAT or proxy
// that cannot be bound here at all.)
std::vector<std::string> listenHosts(const LifecycleConfig& c) { return {c.listenHost()}; }

}  // namespace

LifecycleDeps LifecycleDeps::production() {
  LifecycleDeps d;
  d.now = [] { return std::chrono::steady_clock::now(); };
  auto rng = std::make_shared<std::mt19937_64>(std::random_device{}());
  d.jitter = [rng] { return std::uniform_real_distribution<double>(-1.0, 1.0)(*rng); };
  d.port_free = tcpPortFree;
  return d;
}

LifecyclePlugin::LifecyclePlugin(sdk::PluginContext& ctx, LifecycleConfig config,
                                 LifecycleDeps deps)
    : ctx_(ctx),
      config_(std::move(config)),
      deps_(std::move(deps)),
      ports_(config_.port_range, listenHosts(config_),
             deps_.port_free ? deps_.port_free : PortAllocator::FreeCheck(tcpPortFree)),
      readiness_seconds_(sdk::defaultDurationBuckets()) {}

LifecyclePlugin::~LifecyclePlugin() { stop(); }

sdk::Status LifecyclePlugin::start() {
  auto scan = scanTemplates(config_.templates_dir);
  for (const auto& e : scan.errors) ctx_.log().error("template: ", e.message);
  std::string names;
  for (const auto& t : scan.templates) names += (names.empty() ? "" : ", ") + t.name;
  ctx_.log().info("templates in ", config_.templates_dir.string(), ": ",
                  names.empty() ? "none" : names);
  exit_sub_ = ctx_.supervisor().onExit(
      guard([this](const std::string& id, const sdk::ExitRecord& exit) { onExit(id, exit); }));
  adoptAll();
  scheduleUsage(std::chrono::milliseconds(500));
  scheduleDisk(std::chrono::seconds(2));
  return {};
}

void LifecyclePlugin::stop() {
  exit_sub_.reset();
  usage_timer_.reset();
  disk_timer_.reset();
  // Processes live on (their shims do); jobs still waiting are told the agent is going away.
  for (auto& [id, rt] : runtimes_) {
    if (!rt.action) continue;
    if (rt.action->abort) rt.action->abort->store(true);
    auto err = sdk::makeError(sdk::ErrorCode::kUnavailable, "the agent is stopping");
    for (auto* list : {&rt.action->replies, &rt.action->kill_replies, &rt.action->delete_replies})
      for (auto& r : *list) r(err);
  }
  runtimes_.clear();
  life_ = std::make_shared<int>(0);
}

std::vector<std::string> LifecyclePlugin::jobKinds() const {
  return {std::begin(kKinds), std::end(kKinds)};
}

void LifecyclePlugin::handleJob(const sdk::Job& job, Reply reply) {
  if (!job.instance_id || !sdk::validInstanceId(*job.instance_id)) {
    reply(sdk::makeError(sdk::ErrorCode::kInvalidArgument,
                         "instance_id: required, [A-Za-z0-9_-]{1,64}"));
    return;
  }
  if (!job.params.is_object() && !job.params.is_null()) {
    reply(sdk::makeError(sdk::ErrorCode::kInvalidArgument, "params: expected an object"));
    return;
  }
  const std::string& k = job.kind;
  if (k == "lifecycle.create") return jobCreate(job, std::move(reply));
  if (k == "lifecycle.start") return jobStart(job, std::move(reply));
  if (k == "lifecycle.stop") return jobStop(job, std::move(reply));
  if (k == "lifecycle.restart") return jobRestart(job, std::move(reply));
  if (k == "lifecycle.kill") return jobKill(job, std::move(reply));
  if (k == "lifecycle.delete") return jobDelete(job, std::move(reply));
  if (k == "lifecycle.status") return jobStatus(job, std::move(reply));
  reply(sdk::makeError(sdk::ErrorCode::kUnimplemented, "unknown job kind \"" + k + "\""));
}

void LifecyclePlugin::collectMetrics(sdk::MetricsWriter& out) {
  std::map<std::string, int> by_state;
  for (auto s : {"installing", "installed", "starting", "running", "ready", "stopping", "stopped",
                 "crashed", "failed"})
    by_state[s] = 0;
  int unresponsive = 0;
  for (const auto& r : ctx_.instances().list()) {
    by_state[std::string(sdk::toString(r.state))]++;
    unresponsive += r.unresponsive ? 1 : 0;
  }
  for (const auto& [state, n] : by_state)
    out.gauge("zlh_lifecycle_instances", "Instances on this node by observed state.", n,
              {{"state", state}});
  out.gauge("zlh_lifecycle_instances_unresponsive",
            "Instances whose health checks are failing (hang detection).", unresponsive);
  out.counter("zlh_lifecycle_crashes_total", "Unexpected process exits (crashes).",
              double(crashes_total_.load()));
  out.counter("zlh_lifecycle_restarts_total", "Automatic restarts after a crash.",
              double(restarts_total_.load()));
  out.counter("zlh_lifecycle_installs_total", "Instance installs by result.",
              double(installs_ok_.load()), {{"result", "ok"}});
  out.counter("zlh_lifecycle_installs_total", "Instance installs by result.",
              double(installs_failed_.load()), {{"result", "error"}});
  out.histogram("zlh_lifecycle_readiness_duration_seconds",
                "Time from spawn to passing the readiness checks.", readiness_seconds_.snapshot());
  writeInstanceMetrics(out);
}

json LifecyclePlugin::view(const Record& r) const {
  json address = nullptr;
  if (auto it = r.spec.find("address"); it != r.spec.end() && it->is_string()) address = *it;
  return json{{"id", r.id},
              {"template", r.template_name},
              {"name", r.spec.value("name", std::string())},
              {"state", std::string(sdk::toString(r.state))},
              {"desired_state", r.desired_state},
              {"unresponsive", r.unresponsive},
              {"state_version", r.state_version},
              {"address", address},
              {"reason", r.reason}};
}

sdk::Result<json> LifecyclePlugin::viewResult(const std::string& id) const {
  auto rec = ctx_.instances().get(id);
  if (!rec) return sdk::makeError(sdk::ErrorCode::kNotFound, "instance " + id + " not found");
  return json{{"instance", view(*rec)}};
}

void LifecyclePlugin::setDesired(const std::string& id, const std::string& desired) {
  auto rec = ctx_.instances().get(id);
  if (!rec || rec->desired_state == desired) return;
  auto r = ctx_.instances().update(id, [&](Record& x) { x.desired_state = desired; });
  if (!r.ok()) ctx_.log().error(id, ": set desired state: ", r.error().message);
}

void LifecyclePlugin::setReason(const std::string& id, const std::string& reason) {
  auto r = ctx_.instances().update(id, [&](Record& x) { x.reason = reason; });
  if (!r.ok()) ctx_.log().error(id, ": set reason: ", r.error().message);
}

sdk::Status LifecyclePlugin::transition(const std::string& id, InstanceState to,
                                        const std::string& reason) {
  auto r = ctx_.instances().transition(id, to, reason);
  if (!r.ok()) {
    ctx_.log().error(id, ": transition to ", sdk::toString(to), ": ", r.error().message);
    return r.error();
  }
  ctx_.log().info(id, ": ", sdk::toString(to), reason.empty() ? "" : " (" + reason + ")");
  return {};
}

void LifecyclePlugin::emit(const std::string& type, json body) {
  if (auto st = ctx_.emitEvent(type, std::move(body)); !st.ok())
    ctx_.log().warn("event ", type, ": ", st.error().message);
}

sdk::Result<std::shared_ptr<const Template>> LifecyclePlugin::templateOf(const Record& r) {
  Runtime& rt = runtime(r.id);
  if (rt.tmpl) return rt.tmpl;
  auto it = r.spec.find("template_source");
  if (it == r.spec.end() || !it->is_string())
    return sdk::makeError(sdk::ErrorCode::kFailedPrecondition,
                          "instance " + r.id + ": record has no template_source");
  auto t = parseTemplate(it->get<std::string>(), "instance " + r.id + " template");
  if (!t.ok()) return t.error();
  rt.tmpl = std::make_shared<const Template>(std::move(t.value()));
  return rt.tmpl;
}

RenderVars LifecyclePlugin::varsFor(const Record& r) const {
  RenderVars v;
  v["id"] = r.id;
  v["name"] = r.spec.value("name", std::string());
  v["host"] = config_.listenHost();
  if (auto p = r.spec.find("port"); p != r.spec.end() && p->is_number_unsigned())
    v["port"] = std::to_string(p->get<unsigned>());
  v["data_dir"] = r.data_dir.string();
  const json res = r.spec.value("resources", json::object());
  v["memory_mb"] = std::to_string(res.value("memory_mb", 0u));
  v["disk_mb"] = std::to_string(res.value("disk_mb", 0u));
  v["cpu_pct"] = std::to_string(res.value("cpu_pct", 0u));
  if (!config_.fixtures_dir.empty()) v["fixtures_dir"] = config_.fixtures_dir.string();
  addParamVars(r.spec.value("params", json::object()), v);
  return v;
}

std::string LifecyclePlugin::probeHost() const {
  const std::string& h = config_.listenHost();
  if (h == "0.0.0.0") return "127.0.0.1";
  if (h == "::") return "::1";
  return h;
}

}  // namespace zlh::plugins::lifecycle
