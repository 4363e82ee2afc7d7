#include "agent/core/agent.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>

#include "agent/core/host/capacity.h"
#include "agent/core/http/status_http.h"
#include "agent/core/instances/instance_registry.h"
#include "agent/core/jobs/job_router.h"
#include "agent/core/jobs/job_store.h"
#include "agent/core/link/events.h"
#include "agent/core/link/link.h"
#include "agent/core/loop/event_loop.h"
#include "agent/core/metrics/agent_metrics.h"
#include "agent/core/plugins/plugin_host.h"
#include "agent/core/supervisor/shim_supervisor.h"
#include "agent/core/transport/transport.h"

namespace zlh::agent::core {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr size_t kPoolThreads = 2;
constexpr auto kStopGrace = 1000ms;

sdk::Status ensureStateDir(const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec)) return {};
  fs::create_directories(dir, ec);
  if (ec)
    return sdk::makeError(sdk::ErrorCode::kInternal,
                          "create state dir " + dir.string() + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);
  return {};
}

class Agent {
 public:
  explicit Agent(const AgentOptions& o)
      : opts_(o),
        cfg_(o.config),
        metrics_(o.version),
        store_(cfg_.state_dir / "jobs", JobStore::Options{}) {}

  sdk::Status init();
  void run();

 private:
  sdk::Status initInstances();
  proto::Hello hello() const;
  std::string metricsUrl() const;
  void shutdown(int sig);

  const AgentOptions& opts_;
  const AgentConfig& cfg_;
  EventLoop loop_{kPoolThreads};
  AgentMetrics metrics_;
  JobStore store_;
  // Before host_: plugins hold subscriptions to both and may use them until destroyed.
  std::unique_ptr<CoreInstanceRegistry> registry_;
  std::unique_ptr<ShimSupervisor> supervisor_;
  std::unique_ptr<PluginHost> host_;
  // After host_ (stream handlers belong to plugins), before link_ (which routes to it).
  std::unique_ptr<StreamRouter> streams_;
  std::unique_ptr<Link> link_;
  std::unique_ptr<JobRouter> router_;
  std::unique_ptr<StatusHttp> http_;
  std::unique_ptr<Transport> transport_;  // declared last: destroyed first (joins its thread)
  std::function<sdk::Status(const std::string&, nlohmann::json)> emit_;
  bool stopping_ = false;
};

// Registry and supervisor, then re-adoption of the shims that outlived the previous agent:
// all before any plugin starts.
sdk::Status Agent::initInstances() {
  if (auto s = ensureStateDir(cfg_.runtime_dir); !s.ok()) return s;
  registry_ = std::make_unique<CoreInstanceRegistry>(
      cfg_.state_dir, emit_, [this](sdk::Task t) { loop_.runBlocking(std::move(t)); });
  auto loaded = registry_->load();
  if (!loaded.ok()) return loaded.error().withContext("load instance records");
  spdlog::info("instances: {} records loaded, {} corrupt (moved aside), {} dirs without a record",
               loaded->loaded, loaded->corrupt, loaded->without_record);
  ShimSupervisor::Options so;
  so.state_dir = cfg_.state_dir;
  so.runtime_dir = cfg_.runtime_dir;
  so.shim_path = cfg_.shim_path;
  if (::access(so.shim_path.c_str(), X_OK) != 0)
    spdlog::warn("zlh-shim not found at {} (set [agent] shim_path): instances cannot start",
                 so.shim_path.string());
  supervisor_ = std::make_unique<ShimSupervisor>(loop_, std::move(so));
  supervisor_->adoptAtStart(registry_->list());
  return {};
}

sdk::Status Agent::init() {
  if (auto s = ensureStateDir(cfg_.state_dir); !s.ok()) return s;
  if (auto s = store_.open(); !s.ok()) return s;

  ContextEnv env;
  env.loop = &loop_;
  env.node_id = cfg_.node_id;
  env.agent_version = opts_.version;
  env.emit = [this](const std::string& type, nlohmann::json body) -> sdk::Status {
    auto text = encodeEvent(type, body);
    if (!text.ok()) return text.error();
    loop_.post([this, t = std::move(text.value())]() mutable { link_->sendEvent(std::move(t)); });
    return {};
  };
  emit_ = env.emit;
  if (auto s = initInstances(); !s.ok()) return s;
  env.instances = registry_.get();
  env.supervisor = supervisor_.get();
  env.state_root = cfg_.state_dir;
  host_ = std::make_unique<PluginHost>(metrics_, std::move(env), cfg_.state_dir / "plugins");
  for (const auto& name : cfg_.enabled_plugins)
    for (const auto* f : opts_.builtins)
      if (f->name() == name) host_->add(*f, cfg_.plugin_configs.at(name));

  Link::Options lo;
  lo.backoff_initial = std::chrono::milliseconds(cfg_.coordinator.backoff_initial_ms);
  lo.backoff_max = std::chrono::milliseconds(cfg_.coordinator.backoff_max_ms);
  link_ = std::make_unique<Link>(
      loop_, metrics_, lo, [this] { return hello(); },
      [this](const proto::JobStart& js) { router_->start(js); });
  streams_ = std::make_unique<StreamRouter>(
      StreamRouter::Output{[this](std::string t) { link_->sendText(std::move(t)); },
                           [this](std::string b) { link_->sendBinary(std::move(b)); },
                           [this](sdk::Task t) { loop_.post(std::move(t)); }},
      [this](const sdk::StreamRequest& r, std::shared_ptr<sdk::StreamChannel> c) {
        return host_->openStream(r, std::move(c));
      });
  link_->setStreams(streams_.get());
  router_ = std::make_unique<JobRouter>(
      loop_, store_, *host_, metrics_, [this](proto::JobDone d) { link_->sendJobDone(d); },
      [this](proto::JobProgress p) { link_->sendProgress(p); });
  http_ = std::make_unique<StatusHttp>(StatusHttp::Deps{
      &metrics_, host_.get(), [this] { return link_->stateName(); }, cfg_.node_id, opts_.version});

  TransportConfig tc;
  const auto& url = cfg_.coordinator.url;
  tc.host = url.host;
  tc.port = url.port;
  tc.path = url.path;
  tc.host_header = url.hostHeader();
  tc.tls = url.tls;
  tc.insecure = cfg_.coordinator.insecure;
  tc.ca_file = cfg_.coordinator.ca_file;
  tc.token = cfg_.coordinator.token;
  tc.http_host = cfg_.metrics.listen.host;
  tc.http_port = cfg_.metrics.listen.port;
  auto transport = makeLwsTransport(
      std::move(tc), [this](sdk::Task t) { loop_.post(std::move(t)); }, *link_, *http_);
  if (!transport.ok()) return transport.error();
  transport_ = std::move(transport.value());
  link_->setTransport(transport_.get());
  http_->setTransport(transport_.get());
  return {};
}

std::string Agent::metricsUrl() const {
  if (!cfg_.metrics.advertise_url.empty()) return cfg_.metrics.advertise_url;
  HostPort hp = cfg_.metrics.listen;
  hp.port = transport_ ? transport_->httpPort() : hp.port;
  return "http://" + hp.text() + "/metrics";
}

proto::Hello Agent::hello() const {
  proto::Hello h;
  h.node_id = cfg_.node_id;
  h.agent_version = opts_.version;
  h.plugins = host_->infos();
  h.capacity = readCapacity(cfg_.state_dir);
  // [capacity] replaces what was measured: it is what this node offers to placement.
  if (cfg_.capacity.memory_bytes) h.capacity.memory_bytes = cfg_.capacity.memory_bytes;
  if (cfg_.capacity.disk_bytes) h.capacity.disk_bytes = cfg_.capacity.disk_bytes;
  h.metrics_url = metricsUrl();
  h.instances = registry_->summaries();
  return h;
}

void Agent::shutdown(int sig) {
  if (stopping_) {
    spdlog::warn("second signal {}: stopping now", sig);
    loop_.stop();
    return;
  }
  stopping_ = true;
  spdlog::info("signal {}: stopping (instance shims and their processes keep running)", sig);
  link_->stop(kStopGrace, [this] {
    router_->cancelAll();
    host_->stopAll();
    loop_.stop();
  });
}

void Agent::run() {
  loop_.onSignals({SIGINT, SIGTERM}, [this](int sig) { shutdown(sig); });
  host_->startAll();
  supervisor_->releaseExits();  // exits found at adoption reach the plugins' onExit listeners
  spdlog::info("zlh-agent {} node {}: metrics on {}, coordinator {}", opts_.version, cfg_.node_id,
               metricsUrl(), cfg_.coordinator.url_text);
  if (cfg_.metrics.advertise_url.empty() &&
      (cfg_.metrics.listen.host == "0.0.0.0" || cfg_.metrics.listen.host == "::"))
    spdlog::warn(
        "metrics.listen is a wildcard address: set metrics.advertise_url so the coordinator "
        "can tell Prometheus where to scrape");
  link_->start();
  loop_.run();
  transport_->shutdown();
  loop_.joinPool();  // pool work may touch plugins: finish it before they are destroyed
  host_->stopAll();
}

}  // namespace

int runAgent(const AgentOptions& options) {
  Agent agent(options);
  if (auto s = agent.init(); !s.ok()) {
    spdlog::error("cannot start: {}", s.error().message);
    return 1;
  }
  agent.run();
  spdlog::info("stopped");
  return 0;
}

}  // namespace zlh::agent::core
