#pragma once
// API authentication: "Authorization: Bearer zlh_..." of a user token, and role checks.
#include <string>

#include "coordinator/api/http.h"
#include "coordinator/store/store.h"

namespace zlh::coordinator::api {

struct Principal {
  std::string user_id;
  std::string token_id;
  store::Role role = store::Role::kUser;
};

/// Unauthenticated for a missing, malformed, unknown, revoked or node token.
proto::Result<Principal> authenticate(const Request& request, store::Store& store);

}  // namespace zlh::coordinator::api
