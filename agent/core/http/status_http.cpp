#include "agent/core/http/status_http.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "proto/http/gzip.h"

namespace zlh::agent::core {
namespace {
using nlohmann::json;

HttpResponse jsonError(int status, const std::string& code, const std::string& message) {
  HttpResponse r;
  r.status = status;
  r.body = json{{"error", {{"code", code}, {"message", message}}}}.dump();
  return r;
}
}  // namespace

void StatusHttp::onHttpRequest(HttpRequest request) {
  if (transport_) transport_->respond(request.id, handle(request));
}

HttpResponse StatusHttp::handle(const HttpRequest& req) {
  const bool known = req.path == "/metrics" || req.path == "/healthz";
  if (!known) return jsonError(404, "not_found", "no route for " + req.path.substr(0, 200));
  if (req.method != "GET") {
    auto r = jsonError(405, "method_not_allowed", req.path + " is read-only: use GET");
    r.allow = "GET";
    return r;
  }
  HttpResponse r;
  if (req.path == "/metrics") {
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = renderMetrics();
    r.vary_accept_encoding = true;
    if (proto::http::acceptsGzip(req.accept_encoding) && gzip_.compress(r.body, gzip_buf_)) {
      r.body.swap(gzip_buf_);
      r.content_encoding = "gzip";
    }
  } else {
    r.body = renderHealth();
  }
  return r;
}

std::string StatusHttp::renderMetrics() {
  const auto started = std::chrono::steady_clock::now();
  sdk::MetricsWriter& out = writer_;
  out.reset();
  deps_.metrics->write(out);
  deps_.host->collectMetrics(out);
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
  out.gauge("zlh_agent_scrape_duration_seconds", "Time spent collecting this scrape.",
            took.count());
  for (const auto& p : out.problems()) spdlog::warn("metrics: {}", p);
  return out.text();
}

std::string StatusHttp::renderHealth() const {
  const std::string link(deps_.link_state());
  const bool ok = link == "connected" && deps_.host->allRunning();
  json plugins = json::object();
  for (const auto& [name, state] : deps_.host->states()) plugins[name] = state;
  return json{{"status", ok ? "ok" : "degraded"},
              {"link", link},
              {"node_id", deps_.node_id},
              {"version", deps_.version},
              {"plugins", plugins}}
      .dump();
}

}  // namespace zlh::agent::core
