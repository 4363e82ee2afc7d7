#pragma once
// Records the store keeps. Engine-neutral: no SQL types here.
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "coordinator/common/time_format.h"

namespace zlh::coordinator::store {

using common::Time;

enum class Role { kAdmin, kUser, kMetrics };
std::string_view toString(Role role);
std::optional<Role> parseRole(std::string_view text);

enum class TokenKind { kUser, kNode };
std::string_view toString(TokenKind kind);
std::optional<TokenKind> parseTokenKind(std::string_view text);

struct User {
  std::string id;  // usr_...
  std::string name;
  Role role = Role::kUser;
  Time created_at;
};

struct NewUser {
  std::string name;
  Role role = Role::kUser;
};

struct TokenRecord {
  std::string id;  // tok_...
  TokenKind kind = TokenKind::kUser;
  std::string owner_id;  // a user id or a node id
  std::string sha256;    // hex of the token text; the token itself is never stored
  Time created_at;
  std::optional<Time> revoked_at;
};

struct Node {
  std::string id;  // nd_...
  std::string name;
  Time created_at;
  std::optional<Time> last_seen;       // none before the first link
  std::optional<std::string> version;  // agent version from the last hello
  std::optional<nlohmann::json> capacity;
  std::optional<std::string> metrics_url;
  nlohmann::json plugins = nlohmann::json::array();
  std::optional<std::string> link_owner;    // the coordinator holding its link
  std::optional<Time> link_expires_at;      // the link's lease: online while it is in the future

  bool linkLive(Time now) const { return link_expires_at && *link_expires_at > now; }
};

/// What a good hello records.
struct NodeHello {
  Time seen;
  std::string version;
  nlohmann::json capacity;
  std::string metrics_url;
  nlohmann::json plugins;
};

}  // namespace zlh::coordinator::store
