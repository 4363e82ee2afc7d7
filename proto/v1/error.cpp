#include "proto/v1/error.h"

#include <array>
#include <utility>

namespace zlh::proto {
namespace {
struct Row {
  ErrorCode code;
  std::string_view wire;
  int http;
};
constexpr std::array kRows{
    Row{ErrorCode::kInvalidArgument, "invalid_argument", 400},
    Row{ErrorCode::kUnauthenticated, "unauthenticated", 401},
    Row{ErrorCode::kPaymentRequired, "payment_required", 402},
    Row{ErrorCode::kPermissionDenied, "permission_denied", 403},
    Row{ErrorCode::kNotFound, "not_found", 404},
    Row{ErrorCode::kConflict, "conflict", 409},
    Row{ErrorCode::kFailedPrecondition, "failed_precondition", 422},
    Row{ErrorCode::kUnavailable, "unavailable", 503},
    Row{ErrorCode::kDeadlineExceeded, "deadline_exceeded", 504},
    Row{ErrorCode::kUnimplemented, "unimplemented", 501},
    Row{ErrorCode::kInternal, "internal", 500},
};
}  // namespace

std::string_view toWire(ErrorCode code) {
  for (const auto& r : kRows)
    if (r.code == code) return r.wire;
  return "internal";
}

std::optional<ErrorCode> errorCodeFromWire(std::string_view name) {
  for (const auto& r : kRows)
    if (r.wire == name) return r.code;
  return std::nullopt;
}

int httpStatus(ErrorCode code) {
  for (const auto& r : kRows)
    if (r.code == code) return r.http;
  return 500;
}

void to_json(nlohmann::json& j, const Error& e) {
  j = nlohmann::json{{"code", toWire(e.code)}, {"message", e.message}};
}

void from_json(const nlohmann::json& j, Error& e) {
  auto code = errorCodeFromWire(j.at("code").get<std::string>());
  if (!code) throw nlohmann::json::other_error::create(501, "unknown error code", &j);
  e.code = *code;
  e.message = j.at("message").get<std::string>();
}

}  // namespace zlh::proto
