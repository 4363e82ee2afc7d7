#include "coordinator/api/api_service.h"

#include <spdlog/spdlog.h>

namespace zlh::coordinator::api {
namespace {
using store::Role;
}  // namespace

ApiService::ApiService(store::Store& store, common::Metrics& metrics, gateway::NodeLinks& links,
                       instances::Dispatcher& dispatcher, ApiOptions options)
    : store_(store), metrics_(metrics), links_(links), dispatcher_(dispatcher), options_(options) {
  registerRoutes();
}

void ApiService::registerRoutes() {
  using namespace std::placeholders;
  router_.add("GET", "/healthz", [this](const Request& r, const Params& p, Responder d) {
    healthz(r, p, std::move(d));
  });
  // The agent endpoint only answers WebSocket upgrades (handled by the network layer).
  router_.add("GET", "/agent/v1/connect", [](const Request&, const Params&, Responder d) {
    d(errorResponse(400, "invalid_argument", "this endpoint takes a WebSocket upgrade (subprotocol zlh.agent.v1)"));
  });
  route("GET", "/metrics", {Role::kAdmin, Role::kMetrics},
        [this](auto& r, auto& p, auto& w, Responder d) { metrics(r, p, w, std::move(d)); });
  route("GET", "/api/v1/sd/agents", {Role::kAdmin, Role::kMetrics},
        [this](auto& r, auto& p, auto& w, Responder d) { sdAgents(r, p, w, std::move(d)); });
  route("POST", "/api/v1/users", {Role::kAdmin},
        [this](auto& r, auto& p, auto& w, Responder d) { createUser(r, p, w, std::move(d)); });
  route("POST", "/api/v1/users/{id}/tokens", {Role::kAdmin},
        [this](auto& r, auto& p, auto& w, Responder d) { createUserToken(r, p, w, std::move(d)); });
  route("POST", "/api/v1/nodes", {Role::kAdmin},
        [this](auto& r, auto& p, auto& w, Responder d) { createNode(r, p, w, std::move(d)); });
  route("GET", "/api/v1/nodes", {Role::kAdmin},
        [this](auto& r, auto& p, auto& w, Responder d) { listNodes(r, p, w, std::move(d)); });
  route("GET", "/api/v1/nodes/{id}", {Role::kAdmin},
        [this](auto& r, auto& p, auto& w, Responder d) { getNode(r, p, w, std::move(d)); });
  route("DELETE", "/api/v1/nodes/{id}", {Role::kAdmin},
        [this](auto& r, auto& p, auto& w, Responder d) { deleteNode(r, p, w, std::move(d)); });
  route("POST", "/api/v1/nodes/{id}/jobs", {Role::kAdmin},
        [this](auto& r, auto& p, auto& w, Responder d) { runJob(r, p, w, std::move(d)); });
  registerInstanceRoutes();
  registerWebRoutes();
}

void ApiService::route(const std::string& method, const std::string& pattern, Roles roles,
                       std::function<void(const Request&, const Params&, const Principal&, Responder)> fn) {
  std::vector<Role> allowed(roles);
  router_.add(method, pattern, [this, allowed, fn = std::move(fn)](const Request& req, const Params& params,
                                                                   Responder done) {
    auto who = authenticate(req, store_);
    if (!who) return done(errorResponse(who.error()));
    bool ok = false;
    for (auto r : allowed) ok = ok || who->role == r;
    if (!ok) {
      return done(errorResponse(proto::makeError(
          proto::ErrorCode::kPermissionDenied,
          "role " + std::string(store::toString(who->role)) + " may not do this")));
    }
    fn(req, params, *who, std::move(done));
  });
}

void ApiService::handle(const Request& request, Responder respond) {
  // The route template is known only after matching; the responder may run later.
  auto route = std::make_shared<std::string>("other");
  auto wrapped = [this, route, respond = std::move(respond), method = request.method,
                  path = request.path](Response r) {
    metrics_.incHttpRequest(*route, r.status);
    spdlog::debug("{} {} -> {}", method, path.substr(0, 200), r.status);
    respond(std::move(r));
  };
  // Only a request a route serves counts under its template: 404 and 405 are "other", so
  // whatever a scanner sends keeps the label set small and real routes' counts honest.
  RouteMatch m = router_.match(request.method, request.path);
  if (m.status == 200) *route = m.route;
  router_.dispatch(request, std::move(wrapped));
}

}  // namespace zlh::coordinator::api
