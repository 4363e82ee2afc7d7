#pragma once
// Method + path template routing ("/api/v1/nodes/{id}"): 404 for unknown paths, 405 (with an
// Allow header) for a known path and another method.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "coordinator/api/http.h"

namespace zlh::coordinator::api {

using Params = std::map<std::string, std::string>;
using Handler = std::function<void(const Request&, const Params&, Responder)>;

struct RouteMatch {
  int status = 404;          // 200 matched, 404 no such path, 405 path known, method not
  std::string route = "other";  // the template, "other" when no path matched
  Params params;
  const Handler* handler = nullptr;
  std::string allow;  // for 405: "GET, DELETE"
};

class Router {
 public:
  void add(const std::string& method, const std::string& pattern, Handler handler);
  RouteMatch match(const std::string& method, const std::string& path) const;
  /// Matches and runs the handler, or answers 404/405. Returns the matched template.
  std::string dispatch(const Request& request, Responder respond) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
  };
  static std::vector<std::string> split(const std::string& path);
  static bool matches(const Route& route, const std::vector<std::string>& segs, Params& params);

  std::vector<Route> routes_;
};

}  // namespace zlh::coordinator::api
