#include "coordinator/gateway/link_authorizer.h"

#include <spdlog/spdlog.h>

#include "coordinator/common/tokens.h"

namespace zlh::coordinator::gateway {

LinkAuthorizer::LinkAuthorizer(std::unique_ptr<store::Store> reader, common::Metrics& metrics)
    : reader_(std::move(reader)), metrics_(metrics) {}

LinkAuth LinkAuthorizer::refuse(std::string_view reason, std::string_view peer,
                                std::string_view hash, std::string message) {
  metrics_.incAuthFailure(reason);
  if (hash.empty()) spdlog::warn("agent link from {} refused: {}", peer, reason);
  else spdlog::warn("agent link from {} refused: {} (token hash {}...)", peer, reason, common::hashPrefix(hash));
  LinkAuth a;
  a.message = std::move(message);
  return a;
}

LinkAuth LinkAuthorizer::authorize(std::string_view authorization, std::string_view peer) {
  std::string_view token = common::bearerToken(authorization);
  if (token.empty()) return refuse("missing_token", peer, {}, "missing bearer token");
  if (!common::looksLikeToken(token)) return refuse("bad_token", peer, {}, "invalid node token");
  std::string hash = common::hashToken(token);

  std::lock_guard lock(mu_);
  auto found = reader_->findActiveToken(hash);
  if (found) {
    if (found->kind != store::TokenKind::kNode)
      return refuse("bad_token", peer, hash, "not a node token");
    LinkAuth a;
    a.ok = true;
    a.node_id = found->owner_id;
    return a;
  }
  if (found.error().code == proto::ErrorCode::kNotFound) {
    auto any = reader_->findToken(hash);
    if (any && any->revoked_at) return refuse("revoked", peer, hash, "node token revoked");
    if (any || any.error().code == proto::ErrorCode::kNotFound)
      return refuse("bad_token", peer, hash, "invalid node token");
    found = any.error();
  }
  spdlog::error("agent link from {}: token check failed: {}", peer, found.error().message);
  LinkAuth a;
  a.http_status = 503;
  a.code = "unavailable";
  a.message = "cannot check the token now";
  return a;
}

}  // namespace zlh::coordinator::gateway
