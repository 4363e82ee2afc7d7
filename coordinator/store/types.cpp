#include "coordinator/store/types.h"

namespace zlh::coordinator::store {

std::string_view toString(Role role) {
  switch (role) {
    case Role::kAdmin: return "admin";
    case Role::kUser: return "user";
    case Role::kMetrics: return "metrics";
  }
  return "user";
}

std::optional<Role> parseRole(std::string_view text) {
  if (text == "admin") return Role::kAdmin;
  if (text == "user") return Role::kUser;
  if (text == "metrics") return Role::kMetrics;
  return std::nullopt;
}

std::string_view toString(TokenKind kind) { return kind == TokenKind::kNode ? "node" : "user"; }

std::optional<TokenKind> parseTokenKind(std::string_view text) {
  if (text == "user") return TokenKind::kUser;
  if (text == "node") return TokenKind::kNode;
  return std::nullopt;
}

}  // namespace zlh::coordinator::store
