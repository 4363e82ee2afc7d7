// ApiService: POST /api/v1/instances with its Idempotency-Key.
#include <spdlog/spdlog.h>

#include "coordinator/api/api_json.h"
#include "coordinator/api/api_service.h"
#include "coordinator/api/instance_request.h"
#include "coordinator/common/tokens.h"
#include "coordinator/instances/placement.h"

namespace zlh::coordinator::api {
namespace {
using nlohmann::json;
using proto::ErrorCode;
using proto::makeError;

Response badRequest(const std::string& message) {
  return errorResponse(makeError(ErrorCode::kInvalidArgument, message));
}
}  // namespace

Response ApiService::replayCreate(const store::IdempotencyRecord& record, const std::string& hash) {
  if (!common::constantTimeEquals(record.request_hash, hash))
    return errorResponse(makeError(ErrorCode::kFailedPrecondition,
                                   "this Idempotency-Key was used with a different request body"));
  auto op = store_.getOperation(record.operation_id);
  if (!op) return errorResponse(op.error());
  auto inst = store_.getInstance(record.instance_id);
  if (!inst && inst.error().code != ErrorCode::kNotFound) return errorResponse(inst.error());
  // The instance may have been deleted since: then it is null.
  return jsonResponse(202, {{"operation", operationJson(*op)},
                            {"instance", inst ? instanceJson(*inst) : json(nullptr)}});
}

void ApiService::createInstance(const Request& req, const Params&, const Principal& who,
                                Responder done) {
  auto body = parseBody(req, true);
  if (!body) return done(errorResponse(body.error()));
  std::string key = req.header("idempotency-key");
  if (key.empty()) return done(badRequest("the Idempotency-Key header is required"));
  if (!validIdempotencyKey(key))
    return done(badRequest("Idempotency-Key must be 1-255 visible ASCII characters"));
  auto parsed = parseCreateInstance(*body);
  if (!parsed) return done(errorResponse(parsed.error()));
  if (parsed->owner && who.role != store::Role::kAdmin)
    return done(errorResponse(
        makeError(ErrorCode::kPermissionDenied, "owner: only an admin may set the owner")));

  // Compared parsed: key order and whitespace do not make another request.
  std::string hash = common::sha256Hex(body->dump(-1, ' ', false, json::error_handler_t::replace));
  auto existing = store_.findIdempotencyKey(who.user_id, key);
  if (!existing) return done(errorResponse(existing.error()));
  if (*existing) return done(replayCreate(**existing, hash));

  std::string owner = parsed->owner.value_or(who.user_id);
  if (parsed->owner) {
    auto user = store_.getUser(owner);
    if (!user && user.error().code == ErrorCode::kNotFound)
      return done(badRequest("owner: no user " + owner.substr(0, 64)));
    if (!user) return done(errorResponse(user.error()));
  }
  auto node = instances::chooseNode(store_, links_, parsed->node, common::now());
  if (!node) return done(errorResponse(node.error()));

  store::NewInstance in;
  in.name = parsed->name;
  in.owner_id = owner;
  in.template_name = parsed->template_name;
  in.node_id = *node;
  in.desired_state = parsed->start ? "running" : "stopped";
  in.params = parsed->params;
  in.env = parsed->env;
  in.resources = parsed->resources;
  in.requested_by = who.user_id;
  in.operation_params = parsed->jobParams();
  auto out = store_.createInstance(in, {who.user_id, key, hash});
  if (!out) return done(errorResponse(out.error()));
  if (out->existing) return done(replayCreate(*out->existing, hash));
  spdlog::info("instance {} ({}, template {}) for {} on node {} requested by {} (operation {})",
               out->instance->id, out->instance->name, out->instance->template_name, owner, *node,
               who.user_id, out->operation->id);
  done(accepted(*out->operation, *out->instance));
}

}  // namespace zlh::coordinator::api
