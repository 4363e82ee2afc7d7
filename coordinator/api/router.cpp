#include "coordinator/api/router.h"

namespace zlh::coordinator::api {

std::vector<std::string> Router::split(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

void Router::add(const std::string& method, const std::string& pattern, Handler handler) {
  routes_.push_back(Route{method, pattern, split(pattern), std::move(handler)});
}

bool Router::matches(const Route& route, const std::vector<std::string>& segs, Params& params) {
  if (route.segments.size() != segs.size()) return false;
  Params found;
  for (size_t i = 0; i < segs.size(); ++i) {
    const std::string& p = route.segments[i];
    if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
      if (segs[i].empty()) return false;
      found[p.substr(1, p.size() - 2)] = segs[i];
    } else if (p != segs[i]) {
      return false;
    }
  }
  params = std::move(found);
  return true;
}

RouteMatch Router::match(const std::string& method, const std::string& path) const {
  RouteMatch m;
  // A trailing slash or doubled slashes are not the same resource: only exact shapes match.
  if (path.empty() || path[0] != '/' || path.find("//") != std::string::npos ||
      (path.size() > 1 && path.back() == '/'))
    return m;
  auto segs = split(path);
  for (const auto& r : routes_) {
    Params params;
    if (!matches(r, segs, params)) continue;
    if (r.method == method) {
      m.status = 200;
      m.route = r.pattern;
      m.params = std::move(params);
      m.handler = &r.handler;
      m.allow.clear();
      return m;
    }
    m.status = 405;
    m.route = r.pattern;
    if (m.allow.find(r.method) == std::string::npos)
      m.allow += (m.allow.empty() ? "" : ", ") + r.method;
  }
  return m;
}

std::string Router::dispatch(const Request& request, Responder respond) const {
  RouteMatch m = match(request.method, request.path);
  if (m.status == 404) {
    respond(errorResponse(404, "not_found", "no route for " + request.path.substr(0, 200)));
  } else if (m.status == 405) {
    Response r = errorResponse(405, "method_not_allowed",
                               request.method + " is not allowed on " + m.route + " (allowed: " +
                                   m.allow + ")");
    r.headers.emplace_back("Allow", m.allow);
    respond(std::move(r));
  } else {
    (*m.handler)(request, m.params, std::move(respond));
  }
  return m.route;
}

}  // namespace zlh::coordinator::api
