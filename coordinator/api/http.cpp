#include "coordinator/api/http.h"

namespace zlh::coordinator::api {

Response jsonResponse(int status, const nlohmann::json& body) {
  Response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

Response errorResponse(const proto::Error& error) {
  return errorResponse(proto::httpStatus(error.code), std::string(proto::toWire(error.code)),
                       error.message);
}

Response errorResponse(int status, const std::string& code, const std::string& message) {
  return jsonResponse(status, {{"error", {{"code", code}, {"message", message}}}});
}

}  // namespace zlh::coordinator::api
