// ApiService: users and their tokens.
#include <spdlog/spdlog.h>

#include "coordinator/api/api_json.h"
#include "coordinator/api/api_service.h"
#include "coordinator/common/tokens.h"

namespace zlh::coordinator::api {
namespace {
using proto::ErrorCode;
using proto::makeError;
}  // namespace

void ApiService::createUser(const Request& req, const Params&, const Principal& who, Responder done) {
  auto body = parseBody(req, true);
  if (!body) return done(errorResponse(body.error()));
  auto name = optString(*body, "name");
  if (!name) return done(errorResponse(name.error()));
  auto role = optString(*body, "role");
  if (!role) return done(errorResponse(role.error()));
  if (!*name || !validName(**name))
    return done(errorResponse(makeError(ErrorCode::kInvalidArgument,
                                        "name is required: 1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit")));
  auto parsed = *role ? store::parseRole(**role) : std::nullopt;
  if (!parsed)
    return done(errorResponse(makeError(ErrorCode::kInvalidArgument, "role must be admin, user or metrics")));
  auto user = store_.createUser(store::NewUser{**name, *parsed});
  if (!user) return done(errorResponse(user.error()));
  spdlog::info("user {} ({}, role {}) created by {}", user->id, user->name, **role, who.user_id);
  done(jsonResponse(201, {{"user", userJson(*user)}}));
}

void ApiService::createUserToken(const Request& req, const Params& params, const Principal& who,
                                 Responder done) {
  auto body = parseBody(req, false);
  if (!body) return done(errorResponse(body.error()));
  const std::string& id = params.at("id");
  std::string token = common::newToken();
  auto rec = store_.createToken(store::TokenKind::kUser, id, common::hashToken(token));
  if (!rec) return done(errorResponse(rec.error()));
  spdlog::info("token {} created for user {} by {}", rec->id, id, who.user_id);
  done(jsonResponse(201, {{"user_id", id}, {"token", token}}));
}

}  // namespace zlh::coordinator::api
