// ApiService: the browser console page and its assets (docs/api.md, "Console page"). A fixed list
// of files from `web_dir`: a request names one of them or gets 404, so no path from a URL ever
// reaches the file system.
#include <fstream>
#include <sstream>

#include "coordinator/api/api_service.h"

namespace zlh::coordinator::api {
namespace {

struct Asset {
  const char* name;
  const char* content_type;
};
constexpr Asset kAssets[] = {
    {"console.html", "text/html; charset=utf-8"},
    {"console.js", "text/javascript; charset=utf-8"},
    {"console.css", "text/css; charset=utf-8"},
    {"xterm.js", "text/javascript; charset=utf-8"},
    {"xterm.css", "text/css; charset=utf-8"},
    {"addon-fit.js", "text/javascript; charset=utf-8"},
};

// The page loads only its own scripts and styles and talks only to its own origin.
constexpr const char* kCsp =
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self' data:; font-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'";

}  // namespace

void ApiService::serveAsset(const std::string& name, Responder done) {
  const Asset* asset = nullptr;
  for (const auto& a : kAssets)
    if (name == a.name) asset = &a;
  if (!asset) return done(errorResponse(404, "not_found", "no such asset"));
  std::ifstream in(options_.web_dir + "/" + asset->name, std::ios::binary);
  if (!in)
    return done(errorResponse(503, "unavailable",
                              "the console page is not installed (server.web_dir = " +
                                  options_.web_dir + ")"));
  std::ostringstream body;
  body << in.rdbuf();
  Response r;
  r.status = 200;
  r.content_type = asset->content_type;
  r.body = body.str();
  r.headers = {{"content-security-policy", kCsp},
               {"x-content-type-options", "nosniff"},
               {"referrer-policy", "no-referrer"},
               {"x-frame-options", "DENY"}};
  done(std::move(r));
}

void ApiService::registerWebRoutes() {
  // The page itself needs no token: it asks for one (fragment or prompt) and uses the API.
  router_.add("GET", "/console/{id}", [this](const Request&, const Params&, Responder d) {
    serveAsset("console.html", std::move(d));
  });
  router_.add("GET", "/console/assets/{name}",
              [this](const Request&, const Params& p, Responder d) {
                serveAsset(p.at("name"), std::move(d));
              });
}

}  // namespace zlh::coordinator::api
