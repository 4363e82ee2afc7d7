#include "coordinator/api/auth.h"

#include <spdlog/spdlog.h>

#include "coordinator/common/tokens.h"

namespace zlh::coordinator::api {
namespace {
using proto::ErrorCode;
using proto::makeError;
}  // namespace

proto::Result<Principal> authenticate(const Request& request, store::Store& store) {
  std::string header = request.header("authorization");
  std::string_view token = common::bearerToken(header);
  if (token.empty()) return makeError(ErrorCode::kUnauthenticated, "missing bearer token");
  if (!common::looksLikeToken(token)) return makeError(ErrorCode::kUnauthenticated, "invalid token");
  std::string hash = common::hashToken(token);
  auto tok = store.findActiveToken(hash);
  if (!tok) {
    if (tok.error().code == ErrorCode::kNotFound) {
      spdlog::info("API request from {} refused: unknown or revoked token (hash {}...)",
                   request.peer, common::hashPrefix(hash));
      return makeError(ErrorCode::kUnauthenticated, "invalid token");
    }
    spdlog::error("API token check failed: {}", tok.error().message);
    return makeError(ErrorCode::kUnavailable, "cannot check the token now");
  }
  if (tok->kind != store::TokenKind::kUser)
    return makeError(ErrorCode::kUnauthenticated, "node tokens authenticate agent links only");
  auto user = store.getUser(tok->owner_id);
  if (!user) {
    if (user.error().code == ErrorCode::kNotFound)
      return makeError(ErrorCode::kUnauthenticated, "invalid token");
    return makeError(ErrorCode::kUnavailable, "cannot check the token now");
  }
  return Principal{user->id, tok->id, user->role};
}

}  // namespace zlh::coordinator::api
