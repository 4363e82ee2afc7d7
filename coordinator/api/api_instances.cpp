// ApiService: instances and operations (docs/api.md "Instances").
#include <spdlog/spdlog.h>

#include "coordinator/api/api_json.h"
#include "coordinator/api/api_service.h"
#include "coordinator/api/instance_request.h"
#include "coordinator/common/time_format.h"
#include "coordinator/instances/operation_recorder.h"

namespace zlh::coordinator::api {
namespace {
using nlohmann::json;
using proto::ErrorCode;
using proto::makeError;
using store::OperationKind;
using store::Role;

proto::Error notFound(const std::string& what, const std::string& id) {
  return makeError(ErrorCode::kNotFound, what + " " + id.substr(0, 64) + " not found");
}
}  // namespace

void ApiService::registerInstanceRoutes() {
  const Roles people{Role::kAdmin, Role::kUser};
  route("POST", "/api/v1/instances", people,
        [this](auto& r, auto& p, auto& w, Responder d) { createInstance(r, p, w, std::move(d)); });
  route("GET", "/api/v1/instances", people,
        [this](auto& r, auto& p, auto& w, Responder d) { listInstances(r, p, w, std::move(d)); });
  route("GET", "/api/v1/instances/{id}", people,
        [this](auto& r, auto& p, auto& w, Responder d) { getInstance(r, p, w, std::move(d)); });
  route("DELETE", "/api/v1/instances/{id}", people,
        [this](auto& r, auto& p, auto& w, Responder d) { deleteInstance(r, p, w, std::move(d)); });
  route("POST", "/api/v1/instances/{id}/power", people,
        [this](auto& r, auto& p, auto& w, Responder d) { powerInstance(r, p, w, std::move(d)); });
  route("GET", "/api/v1/instances/{id}/events", people,
        [this](auto& r, auto& p, auto& w, Responder d) { instanceEvents(r, p, w, std::move(d)); });
  route("GET", "/api/v1/operations/{id}", people,
        [this](auto& r, auto& p, auto& w, Responder d) { getOperation(r, p, w, std::move(d)); });
  route("POST", "/api/v1/operations/{id}/cancel", people,
        [this](auto& r, auto& p, auto& w, Responder d) { cancelOperation(r, p, w, std::move(d)); });
  route("POST", "/api/v1/instances/{id}/console/tickets", people,
        [this](auto& r, auto& p, auto& w, Responder d) {
          createConsoleTicket(r, p, w, std::move(d));
        });
  // The console endpoint only answers WebSocket upgrades (handled by the network layer).
  router_.add("GET", "/api/v1/console", [](const Request&, const Params&, Responder d) {
    d(errorResponse(400, "invalid_argument",
                    "this endpoint takes a WebSocket upgrade (subprotocol zlh.console.v1)"));
  });
}

void ApiService::createConsoleTicket(const Request& request, const Params& params,
                                     const Principal& who, Responder done) {
  auto body = parseBody(request, false);
  if (!body) return done(errorResponse(body.error()));
  bool shell = false;
  for (const auto& [key, value] : body->items()) {
    if (key != "shell")
      return done(errorResponse(makeError(ErrorCode::kInvalidArgument, "unknown field \"" + key.substr(0, 64) + "\": only \"shell\" is accepted")));
    if (!value.is_boolean())
      return done(errorResponse(makeError(ErrorCode::kInvalidArgument, "shell: expected a boolean")));
    shell = value.get<bool>();
  }
  auto inst = visibleInstance(params.at("id"), who);
  if (!inst) return done(errorResponse(inst.error()));
  if (inst->desired_state == "deleted")
    return done(errorResponse(makeError(ErrorCode::kNotFound, "instance " + inst->id + " is being deleted")));
  if (!options_.tickets)
    return done(errorResponse(makeError(ErrorCode::kUnavailable, "consoles are not served here")));
  auto t = options_.tickets->issue(who.user_id, inst->id, console::TicketBook::Clock::now(), shell);
  if (!t) return done(errorResponse(t.error()));
  std::string base = options_.public_url;
  if (base.rfind("https://", 0) == 0) base.replace(0, 5, "wss");
  else if (base.rfind("http://", 0) == 0) base.replace(0, 4, "ws");
  done(jsonResponse(201, {{"ticket", t->ticket},
                          {"expires_at", common::formatRfc3339(t->expires_at)},
                          {"shell", shell},
                          {"url", base + "/api/v1/console?ticket=" + t->ticket}}));
}

proto::Result<store::Instance> ApiService::visibleInstance(const std::string& id,
                                                           const Principal& who) {
  auto inst = store_.getInstance(id);
  if (!inst) {
    if (inst.error().code == ErrorCode::kNotFound) return notFound("instance", id);
    return inst.error();
  }
  if (who.role != Role::kAdmin && inst->owner_id != who.user_id) return notFound("instance", id);
  return inst;
}

Response ApiService::accepted(const store::Operation& op, const store::Instance& instance) {
  dispatcher_.submit(op);
  // The dispatcher moved it on (running or waiting): answer what is true now.
  auto now = store_.getOperation(op.id);
  return jsonResponse(
      202, {{"operation", operationJson(now ? *now : op)}, {"instance", instanceJson(instance)}});
}

void ApiService::listInstances(const Request&, const Params&, const Principal& who,
                               Responder done) {
  auto list = store_.listInstances(
      who.role == Role::kAdmin ? std::nullopt : std::optional<std::string>(who.user_id));
  if (!list) return done(errorResponse(list.error()));
  json items = json::array();
  for (const auto& i : *list) items.push_back(instanceJson(i));
  done(jsonResponse(200, {{"items", items}, {"next_cursor", nullptr}}));
}

void ApiService::getInstance(const Request&, const Params& params, const Principal& who,
                             Responder done) {
  auto inst = visibleInstance(params.at("id"), who);
  if (!inst) return done(errorResponse(inst.error()));
  done(jsonResponse(200, instanceJson(*inst)));
}

void ApiService::deleteInstance(const Request&, const Params& params, const Principal& who,
                                Responder done) {
  auto inst = visibleInstance(params.at("id"), who);
  if (!inst) return done(errorResponse(inst.error()));
  if (inst->desired_state == "deleted") {
    // Already being deleted: the same operation again, not a second one.
    auto pending = store_.findUnfinishedOperation(inst->id, OperationKind::kInstanceDelete);
    if (!pending) return done(errorResponse(pending.error()));
    if (*pending)
      return done(jsonResponse(
          202, {{"operation", operationJson(**pending)}, {"instance", instanceJson(*inst)}}));
  }
  std::string previous = inst->desired_state == "deleted" ? "stopped" : inst->desired_state;
  auto started = store_.startOperation({OperationKind::kInstanceDelete,
                                        inst->id,
                                        who.user_id,
                                        {{"previous_desired_state", previous}},
                                        "deleted"});
  if (!started) return done(errorResponse(started.error()));
  spdlog::info("instance {} delete requested by {} (operation {})", inst->id, who.user_id,
               started->second.id);
  done(accepted(started->second, started->first));
}

void ApiService::powerInstance(const Request& req, const Params& params, const Principal& who,
                               Responder done) {
  auto body = parseBody(req, true);
  if (!body) return done(errorResponse(body.error()));
  auto action = parsePowerAction(*body);
  if (!action) return done(errorResponse(action.error()));
  auto inst = visibleInstance(params.at("id"), who);
  if (!inst) return done(errorResponse(inst.error()));
  if (inst->desired_state == "deleted")
    return done(errorResponse(
        makeError(ErrorCode::kConflict, "instance " + inst->id + " is being deleted")));
  if (inst->state == store::kStateProvisioning)
    return done(errorResponse(
        makeError(ErrorCode::kConflict, "instance " + inst->id + " is still being provisioned")));
  std::string desired = (*action == "start" || *action == "restart") ? "running" : "stopped";
  auto started = store_.startOperation(
      {OperationKind::kInstancePower, inst->id, who.user_id, {{"action", *action}}, desired});
  if (!started) return done(errorResponse(started.error()));
  spdlog::info("instance {} {} requested by {} (operation {})", inst->id, *action, who.user_id,
               started->second.id);
  done(accepted(started->second, started->first));
}

void ApiService::instanceEvents(const Request&, const Params& params, const Principal& who,
                                Responder done) {
  auto inst = visibleInstance(params.at("id"), who);
  if (!inst) return done(errorResponse(inst.error()));
  auto events = store_.listInstanceEvents(inst->id);
  if (!events) return done(errorResponse(events.error()));
  json items = json::array();
  for (const auto& e : *events) items.push_back(eventJson(e));
  done(jsonResponse(200, {{"items", items}, {"next_cursor", nullptr}}));
}

proto::Result<store::Operation> ApiService::visibleOperation(const std::string& id,
                                                             const Principal& who) {
  auto op = store_.getOperation(id);
  if (!op) {
    if (op.error().code == ErrorCode::kNotFound) return notFound("operation", id);
    return op.error();
  }
  bool visible = who.role == Role::kAdmin || op->user_id == who.user_id;
  if (!visible) {
    // Also visible to the owner of its instance (an admin may act on a user's instance).
    auto inst = store_.getInstance(op->instance_id);
    visible = inst && inst->owner_id == who.user_id;
  }
  if (!visible) return notFound("operation", id);
  return op;
}

void ApiService::getOperation(const Request&, const Params& params, const Principal& who,
                              Responder done) {
  auto op = visibleOperation(params.at("id"), who);
  if (!op) return done(errorResponse(op.error()));
  done(jsonResponse(200, operationJson(*op)));
}

void ApiService::cancelOperation(const Request&, const Params& params, const Principal& who,
                                 Responder done) {
  auto op = visibleOperation(params.at("id"), who);
  if (!op) return done(errorResponse(op.error()));
  // What a cancelled operation leaves behind is what a failed one does (a create's instance
  // shows failed and can be deleted; a delete restores the desired state it replaced).
  auto outcome = instances::operationOutcome(
      *op, proto::makeError(ErrorCode::kFailedPrecondition, "cancelled"));
  outcome.error = proto::makeError(ErrorCode::kFailedPrecondition,
                                   "cancelled by " + who.user_id + " before it ran");
  auto cancelled = store_.cancelOperation(op->id, outcome, common::now());
  if (!cancelled) return done(errorResponse(cancelled.error()));
  spdlog::info("operation {} ({} of {}) cancelled by {}", op->id, store::toString(op->kind),
               op->instance_id, who.user_id);
  done(jsonResponse(200, operationJson(*cancelled)));
}

}  // namespace zlh::coordinator::api
