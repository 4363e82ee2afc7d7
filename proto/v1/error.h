#pragma once
// Error codes shared by the wire, the SDK and the HTTP API (STYLE.md "Errors").
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace zlh::proto {

enum class ErrorCode {
  kInvalidArgument,     // 400
  kUnauthenticated,     // 401
  kPaymentRequired,     // 402
  kPermissionDenied,    // 403
  kNotFound,            // 404
  kConflict,            // 409
  kFailedPrecondition,  // 422
  kUnavailable,         // 503
  kDeadlineExceeded,    // 504
  kUnimplemented,       // 501
  kInternal,            // 500
};

/// Wire name, e.g. "invalid_argument".
std::string_view toWire(ErrorCode code);
/// Parses a wire name; nullopt for unknown names.
std::optional<ErrorCode> errorCodeFromWire(std::string_view name);
/// HTTP status for an error code (one to one, STYLE.md).
int httpStatus(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  /// "context: message" — used when passing an error up.
  Error withContext(std::string_view context) const {
    return Error{code, std::string(context) + ": " + message};
  }
};

void to_json(nlohmann::json& j, const Error& e);
void from_json(const nlohmann::json& j, Error& e);

}  // namespace zlh::proto
