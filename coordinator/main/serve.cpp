// `serve`: wires store, gateway, API and the network module, and runs until SIGINT/SIGTERM.
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "coordinator/api/api_service.h"
#include "coordinator/common/metrics.h"
#include "coordinator/common/version.h"
#include "coordinator/console/console_bridge.h"
#include "coordinator/console/tickets.h"
#include "coordinator/gateway/gateway.h"
#include "coordinator/gateway/link_authorizer.h"
#include "coordinator/instances/agent_events.h"
#include "coordinator/common/tokens.h"
#include "coordinator/instances/queue_worker.h"
#include "coordinator/main/commands.h"
#include "coordinator/main/runtime.h"
#include "coordinator/net/server.h"
#include "coordinator/store/store.h"

namespace zlh::coordinator::main {
namespace {
using namespace std::chrono_literals;

constexpr std::string_view kConsoleContext = "console:";

/// Network events to the API, the gateway and the console bridge; their output to the network.
/// A WebSocket is an agent link or a console, by the context its upgrade decision gave it.
class Bridge final : public net::Handler, public console::ConsoleTransport {
 public:
  void attach(api::ApiService* api, gateway::Gateway* gw, console::ConsoleBridge* consoles,
              net::Server* server, common::Metrics* metrics) {
    metrics_ = metrics;
    api_ = api;
    gateway_ = gw;
    consoles_ = consoles;
    server_ = server;
  }

  void onHttpRequest(net::HttpRequest in) override {
    api::Request req{std::move(in.method), std::move(in.path), std::move(in.query),
                     std::move(in.headers), std::move(in.body), std::move(in.peer)};
    net::Server* server = server_;
    net::ConnId conn = in.conn;
    api_->handle(req, [server, conn](api::Response r) {
      server->respond(conn, net::HttpResponse{r.status, std::move(r.content_type), std::move(r.body),
                                              std::move(r.headers)});
    });
  }
  // 413/411 never reach the API: count them like its unmatched requests.
  void onHttpAnsweredLocally(int status) override { metrics_->incHttpRequest("other", status); }
  void onWsOpen(net::ConnId conn, const std::string& peer, const std::string& context) override {
    if (context.rfind(kConsoleContext, 0) == 0) {
      auto j = nlohmann::json::parse(context.substr(kConsoleContext.size()));
      console::Ticket t{j.at("user"), j.at("instance"), {}, j.value("shell", false)};
      return consoles_->onOpen(conn, t);
    }
    gateway_->onLinkOpen(conn, peer, context);
  }
  void onWsMessage(net::ConnId conn, std::string data, bool binary) override {
    if (consoles_->owns(conn)) return consoles_->onMessage(conn, data, binary);
    gateway_->onLinkMessage(conn, data, binary);
  }
  void onWsPong(net::ConnId conn) override {
    if (!consoles_->owns(conn)) gateway_->onLinkPong(conn);
  }
  void onWsClosed(net::ConnId conn) override {
    if (consoles_->owns(conn)) return consoles_->onClosed(conn);
    gateway_->onLinkClosed(conn);
  }
  void onSpliceInput(net::ConnId conn) override { consoles_->onInput(conn); }

  void sendText(uint64_t conn, std::string text) override { server_->sendText(conn, std::move(text)); }
  void sendBinary(uint64_t conn, std::string bytes) override {
    server_->sendBinary(conn, std::move(bytes));
  }
  void close(uint64_t conn, uint16_t code, std::string reason) override {
    server_->close(conn, code, std::move(reason));
  }
  void splice(uint64_t conn, const gateway::StreamHandle& stream, uint64_t output_window) override {
    server_->splice(conn, stream.link, stream.stream_id, output_window);
  }
  void spliceCredit(uint64_t conn, uint64_t bytes) override { server_->spliceCredit(conn, bytes); }

 private:
  common::Metrics* metrics_ = nullptr;
  api::ApiService* api_ = nullptr;
  gateway::Gateway* gateway_ = nullptr;
  console::ConsoleBridge* consoles_ = nullptr;
  net::Server* server_ = nullptr;
};

std::string queryParam(const std::string& query, const std::string& name) {
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t end = query.find('&', pos);
    std::string part = query.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    if (part.rfind(name + "=", 0) == 0) return part.substr(name.size() + 1);
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return "";
}

net::HttpResponse refusal(int status, const std::string& code, const std::string& message) {
  net::HttpResponse r;
  r.status = status;
  r.body = nlohmann::json{{"error", {{"code", code}, {"message", message}}}}.dump();
  return r;
}

/// A console upgrade: the ticket in the query is redeemed (single use) before the 101.
net::UpgradeDecision decideConsole(console::TicketBook& tickets,
                                   const console::ConsoleOptions& options,
                                   const net::UpgradeRequest& req) {
  net::UpgradeDecision d;
  std::string ticket = queryParam(req.query, "ticket");
  if (ticket.empty()) {
    d.refusal = refusal(401, "unauthenticated", "a console ticket is required (?ticket=zlht_...)");
    return d;
  }
  auto t = tickets.redeem(ticket);
  if (!t) {
    spdlog::info("console upgrade from {} refused: {}", req.peer, t.error().message);
    d.refusal = refusal(401, "unauthenticated", t.error().message);
    return d;
  }
  d.accept = true;
  // Its bytes are relayed on the network thread (ConsoleBridge): input waits there from now on.
  d.splice = net::SpliceInput{options.max_pending_input, console::kOpPing};
  d.context = std::string(kConsoleContext) +
              nlohmann::json{{"user", t->user_id}, {"instance", t->instance_id}, {"shell", t->shell}}
                  .dump();
  return d;
}

net::UpgradeDecision decide(gateway::LinkAuthorizer& auth, const net::UpgradeRequest& req) {
  gateway::LinkAuth a = auth.authorize(req.authorization, req.peer);
  net::UpgradeDecision d;
  d.accept = a.ok;
  d.context = a.node_id;
  if (!a.ok) {
    nlohmann::json body = {{"error", {{"code", a.code}, {"message", a.message}}}};
    d.refusal.status = a.http_status;
    d.refusal.body = body.dump();
  }
  return d;
}

// Two coordinators cannot listen on one address of one host; one coordinator keeps both across
// restarts (a host whose name changes on every boot only loses the early retirement).
std::string coordinatorIdentity(const Config& config) {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "unknown-host");
  return std::string(host) + "/" + config.server.listen;
}

instances::QueueOptions queueOptions(const Config& config) {
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  const auto& q = config.queues;
  instances::QueueOptions o;
  // Unique per run (fencing never confuses two runs), with a prefix stable across restarts so a
  // restarted coordinator retires what its killed predecessor held.
  o.identity = coordinatorIdentity(config);
  o.owner = store::leaseOwner(o.identity, common::newId("").substr(0, 12));
  o.lease = seconds(q.lease_s);
  o.heartbeat = std::max(milliseconds(100), milliseconds(q.lease_s * 1000 / 3));
  o.poll = milliseconds(q.poll_ms);
  o.sweep = seconds(q.sweep_s);
  // Renewed every third of it: a killed coordinator's nodes read as offline this long after.
  o.link_ttl = std::max<milliseconds>(seconds(10), milliseconds(q.poll_ms) * 5);
  o.retry_base = milliseconds(q.retry_base_ms);
  o.retry_cap = seconds(q.retry_cap_s);
  o.prune_every = seconds(q.prune_interval_s);
  o.finished_retention = std::chrono::hours(q.finished_retention_h);
  o.concurrency = {{store::QueueName::kProvisioning, static_cast<int>(q.provisioning_concurrency)},
                   {store::QueueName::kRepair, static_cast<int>(q.repair_concurrency)},
                   {store::QueueName::kBillingEnforcement,
                    static_cast<int>(q.billing_enforcement_concurrency)}};
  return o;
}

void shutdownWhenLinksClosed(Runtime& rt, gateway::Gateway& gw, std::chrono::steady_clock::time_point deadline) {
  if (gw.linkCount() == 0 || std::chrono::steady_clock::now() >= deadline) {
    rt.stop();
    return;
  }
  rt.executor().runAfter(20ms, [&rt, &gw, deadline] { shutdownWhenLinksClosed(rt, gw, deadline); });
}
}  // namespace

int runServe(const Config& config) {
  auto writer = store::openStore(config.database.url, {});
  if (!writer) return std::cerr << "zlh-coordinator: " << writer.error().message << "\n", 1;
  if (auto st = (*writer)->migrate(); !st)
    return std::cerr << "zlh-coordinator: " << st.error().message << "\n", 1;
  // The gateway's upgrade checks run on the network thread: their own read-only connection.
  auto reader = store::openStore(config.database.url, {.read_only = true});
  if (!reader) return std::cerr << "zlh-coordinator: " << reader.error().message << "\n", 1;

  common::Metrics metrics(common::version());
  Runtime runtime;
  Bridge bridge;
  gateway::GatewayOptions gw_options;
  gw_options.ping_interval_s = config.agents.ping_interval_s;
  gateway::Gateway gateway(**writer, metrics, runtime.executor(), bridge, gw_options);
  gateway::LinkAuthorizer authorizer(std::move(*reader), metrics);
  // Operations: recorded with their jobs by the API, run by the queue workers over the links.
  instances::QueueWorker dispatcher(**writer, gateway, runtime.executor(), metrics,
                                    queueOptions(config));
  instances::AgentEvents agent_events(**writer, dispatcher);
  gateway.setEventSink(&agent_events);
  console::TicketBook tickets(std::chrono::seconds(config.console.ticket_ttl_s));
  console::ConsoleOptions console_options;
  console_options.idle_timeout = std::chrono::seconds(config.console.idle_timeout_s);
  console::ConsoleBridge consoles(**writer, gateway, runtime.executor(), bridge, console_options);
  api::ApiOptions api_options;
  api_options.job_timeout = std::chrono::seconds(config.agents.job_timeout_s);
  api_options.public_url = config.publicUrl();
  api_options.tickets = &tickets;
  api_options.web_dir = config.server.web_dir;
  api_options.placement = {config.placement.default_memory_mb, config.placement.default_disk_mb,
                           config.placement.memory_overcommit_pct,
                           config.placement.max_instances_per_node};
  api::ApiService api(**writer, metrics, gateway, dispatcher, api_options);
  // Jobs of a previous run are claimed as their nodes' links come back.
  dispatcher.resume();

  net::ServerOptions options;
  options.host = config.server.address.host;
  options.port = config.server.address.port;
  options.tls_cert = config.server.tls_cert;
  options.tls_key = config.server.tls_key;
  options.ping_interval_s = config.agents.ping_interval_s;
  options.link_timeout_s = config.agents.link_timeout_s;
  auto poster = [&runtime](std::function<void()> fn) { runtime.executor().post(std::move(fn)); };
  options.endpoints.push_back({"/api/v1/console", "zlh.console.v1", /*binary_stream=*/true});
  auto server = net::Server::start(options, poster, bridge,
                                   [&authorizer, &tickets, &console_options](
                                       const net::UpgradeRequest& r) {
                                     if (r.endpoint == "zlh.console.v1")
                                       return decideConsole(tickets, console_options, r);
                                     return decide(authorizer, r);
                                   });
  if (!server) return std::cerr << "zlh-coordinator: " << server.error().message << "\n", 1;
  bridge.attach(&api, &gateway, &consoles, server->get(), &metrics);

  std::string host = options.host.find(':') != std::string::npos ? "[" + options.host + "]" : options.host;
  spdlog::info("zlh-coordinator {} listening on {}://{}:{} (database {})", common::version(),
               config.tls() ? "https" : "http", host, (*server)->port(),
               store::redactDatabaseUrl(config.database.url));
  runtime.onTerminate([&](int sig) {
    spdlog::info("signal {}: closing agent links and stopping", sig);
    consoles.shutdown();
    dispatcher.shutdown();
    gateway.shutdown();
    shutdownWhenLinksClosed(runtime, gateway, std::chrono::steady_clock::now() + 1500ms);
  });
  runtime.run();
  (*server)->stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace zlh::coordinator::main
