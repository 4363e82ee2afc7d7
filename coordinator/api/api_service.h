#pragma once
// The HTTP API of docs/api.md: routes, auth, handlers, request metrics.
#include <chrono>
#include <set>
#include <string>

#include "coordinator/api/auth.h"
#include "coordinator/api/router.h"
#include "coordinator/common/metrics.h"
#include "coordinator/console/tickets.h"
#include "coordinator/gateway/node_links.h"
#include "coordinator/instances/dispatcher.h"
#include "coordinator/store/store.h"
#include "proto/http/gzip.h"

namespace zlh::coordinator::api {

struct ApiOptions {
  std::chrono::seconds job_timeout{60};  // agents.job_timeout_s
  std::chrono::seconds max_job_timeout{3600};
  std::string public_url = "http://127.0.0.1:7420";  // server.public_url: base of console URLs
  console::TicketBook* tickets = nullptr;               // none: console tickets are 503
  std::string web_dir = "/usr/share/zlh-coordinator/web";  // server.web_dir: the console page
  store::PlacementLimits placement;                        // [placement]
};

class ApiService {
 public:
  ApiService(store::Store& store, common::Metrics& metrics, gateway::NodeLinks& links,
             instances::Dispatcher& dispatcher, ApiOptions options);

  /// Answers through `respond`, now or later (jobs). Logic thread only.
  void handle(const Request& request, Responder respond);

 private:
  using Roles = std::initializer_list<store::Role>;
  /// Registers a route whose handler runs after the bearer token has one of `roles`.
  void route(const std::string& method, const std::string& pattern, Roles roles,
             std::function<void(const Request&, const Params&, const Principal&, Responder)> fn);
  void registerRoutes();

  void healthz(const Request&, const Params&, Responder);
  void metrics(const Request&, const Params&, const Principal&, Responder);
  void sdAgents(const Request&, const Params&, const Principal&, Responder);
  void createUser(const Request&, const Params&, const Principal&, Responder);
  void createUserToken(const Request&, const Params&, const Principal&, Responder);
  void createNode(const Request&, const Params&, const Principal&, Responder);
  void listNodes(const Request&, const Params&, const Principal&, Responder);
  void getNode(const Request&, const Params&, const Principal&, Responder);
  void deleteNode(const Request&, const Params&, const Principal&, Responder);
  void runJob(const Request&, const Params&, const Principal&, Responder);
  void createInstance(const Request&, const Params&, const Principal&, Responder);
  void listInstances(const Request&, const Params&, const Principal&, Responder);
  void getInstance(const Request&, const Params&, const Principal&, Responder);
  void deleteInstance(const Request&, const Params&, const Principal&, Responder);
  void powerInstance(const Request&, const Params&, const Principal&, Responder);
  void instanceEvents(const Request&, const Params&, const Principal&, Responder);
  void getOperation(const Request&, const Params&, const Principal&, Responder);
  void cancelOperation(const Request&, const Params&, const Principal&, Responder);
  /// The operation when `who` may see it (its requester, its instance's owner, an admin);
  /// NotFound otherwise.
  proto::Result<store::Operation> visibleOperation(const std::string& id, const Principal& who);
  void createConsoleTicket(const Request&, const Params&, const Principal&, Responder);
  void registerInstanceRoutes();
  void registerWebRoutes();
  void serveAsset(const std::string& name, Responder done);

  /// The instance when `who` may see it: another user's instance is NotFound, like a missing one.
  proto::Result<store::Instance> visibleInstance(const std::string& id, const Principal& who);
  /// 202 {operation, instance} for an idempotent replay of a create (422 on another body).
  Response replayCreate(const store::IdempotencyRecord& record, const std::string& request_hash);
  /// Hands a new operation to the dispatcher and answers 202 {operation, instance}.
  Response accepted(const store::Operation& op, const store::Instance& instance);

  store::Store& store_;
  common::Metrics& metrics_;
  proto::http::GzipEncoder gzip_;  // /metrics bodies; zlib state kept between scrapes
  gateway::NodeLinks& links_;
  instances::Dispatcher& dispatcher_;
  ApiOptions options_;
  Router router_;
  std::set<std::string> sd_warned_;  // "node url" pairs already logged as not scrapable
};

}  // namespace zlh::coordinator::api
