#pragma once
// Requests and responses as the API sees them (independent of the network module).
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "proto/v1/error.h"

namespace zlh::coordinator::api {

struct Request {
  std::string method;
  std::string path;
  std::string query;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string peer;

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

/// Answers a request exactly once, possibly later (on the logic thread).
using Responder = std::function<void(Response)>;

Response jsonResponse(int status, const nlohmann::json& body);
/// {"error":{"code","message"}} with the code's HTTP status.
Response errorResponse(const proto::Error& error);
/// For answers outside the proto codes (405 method_not_allowed, 413).
Response errorResponse(int status, const std::string& code, const std::string& message);

}  // namespace zlh::coordinator::api
