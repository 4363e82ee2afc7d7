#pragma once
// The HTTP API of docs/api.md: routes, auth, handlers, request metrics.
#include <chrono>
#include <string>

#include "coordinator/api/auth.h"
#include "coordinator/api/router.h"
#include "coordinator/common/metrics.h"
#include "coordinator/gateway/node_links.h"
#include "coordinator/store/store.h"

namespace zlh::coordinator::api {

struct ApiOptions {
  std::chrono::seconds job_timeout{60};  // agents.job_timeout_s
  std::chrono::seconds max_job_timeout{3600};
};

class ApiService {
 public:
  ApiService(store::Store& store, common::Metrics& metrics, gateway::NodeLinks& links,
             ApiOptions options);

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
  void createUser(const Request&, const Params&, const Principal&, Responder);
  void createUserToken(const Request&, const Params&, const Principal&, Responder);
  void createNode(const Request&, const Params&, const Principal&, Responder);
  void listNodes(const Request&, const Params&, const Principal&, Responder);
  void getNode(const Request&, const Params&, const Principal&, Responder);
  void deleteNode(const Request&, const Params&, const Principal&, Responder);
  void runJob(const Request&, const Params&, const Principal&, Responder);

  store::Store& store_;
  common::Metrics& metrics_;
  gateway::NodeLinks& links_;
  ApiOptions options_;
  Router router_;
};

}  // namespace zlh::coordinator::api
