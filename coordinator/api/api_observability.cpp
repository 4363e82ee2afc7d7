// GET /healthz, GET /metrics and GET /api/v1/sd/agents (docs/metrics.md).
#include <spdlog/spdlog.h>

#include "coordinator/api/api_service.h"
#include "coordinator/api/sd_target.h"
#include "proto/http/gzip.h"
#include "coordinator/instances/instance_metrics.h"

namespace zlh::coordinator::api {
namespace {
using nlohmann::json;

/// Scrapes smaller than this go out as they are: gzip would save little and cost a header.
constexpr size_t kGzipMinBytes = 1024;

/// An agent-supplied string fit for one log line: at most 200 bytes, control bytes as '?', and
/// a URL's user info (a credential) as "***".
std::string printable(const std::string& s) {
  std::string out = s.substr(0, 200);
  size_t start = out.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  size_t at = out.find('@', start);
  if (at != std::string::npos && at < out.find('/', start)) out.replace(start, at - start, "***");
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return out;
}
}  // namespace

void ApiService::healthz(const Request&, const Params&, Responder done) {
  auto st = store_.ping();
  json db = {{"ok", st.ok()}};
  json ops = {{"ok", false}};
  if (!st) {
    spdlog::error("health check: store unreachable: {}", st.error().message);
    db["error"] = st.error().message;
  } else if (auto pending = instances::pendingOperations(store_, common::now())) {
    ops = {{"ok", true},
           {"pending", pending->pending},
           {"oldest_pending_age_seconds", pending->oldest_age_seconds}};
  } else {
    spdlog::error("health check: reading the operation backlog failed: {}", pending.error().message);
    st = pending.error();
    db = {{"ok", false}, {"error", pending.error().message}};
  }
  json queues = {{"ok", false}};
  if (st) {
    if (auto q = instances::queueHealth(store_, common::now())) {
      queues = *q;
      queues["ok"] = true;
    } else {
      spdlog::error("health check: reading the queues failed: {}", q.error().message);
      st = q.error();
      db = {{"ok", false}, {"error", q.error().message}};
    }
  }
  json body = {{"status", st ? "ok" : "degraded"},
               {"checks",
                {{"db", db},
                 {"agents_online", links_.onlineCount()},
                 {"operations", ops},
                 {"queues", queues}}}};
  done(jsonResponse(st ? 200 : 503, body));
}

void ApiService::metrics(const Request& req, const Params&, const Principal&, Responder done) {
  Response r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  instances::refreshMetrics(store_, metrics_);
  r.body = metrics_.render();
  r.headers.emplace_back("Vary", "Accept-Encoding");
  if (r.body.size() >= kGzipMinBytes && proto::http::acceptsGzip(req.header("accept-encoding"))) {
    if (std::string gz; gzip_.compress(r.body, gz)) {
      r.body = std::move(gz);
      r.headers.emplace_back("Content-Encoding", "gzip");
    } else {
      spdlog::warn("metrics: sending uncompressed: zlib failed");
    }
  }
  done(std::move(r));
}

void ApiService::sdAgents(const Request&, const Params&, const Principal&, Responder done) {
  auto nodes = store_.listNodes();
  if (!nodes) {
    spdlog::error("service discovery: listing nodes failed: {}", nodes.error().message);
    return done(errorResponse(proto::makeError(proto::ErrorCode::kUnavailable, "cannot list nodes now")));
  }
  json groups = json::array();
  for (const auto& n : *nodes) {
    if (!n.metrics_url || n.metrics_url->empty()) continue;  // never said where its metrics are
    auto t = scrapeTarget(*n.metrics_url);
    if (!t) {
      // Once per node and URL: Prometheus asks again every refresh interval.
      if (sd_warned_.insert(n.id + " " + *n.metrics_url).second)
        spdlog::warn("service discovery: node {} ({}) advertises metrics_url '{}' that cannot "
                     "be scraped as is (http(s)://host[:port][/path] expected): left out",
                     n.id, printable(n.name), printable(*n.metrics_url));
      continue;
    }
    groups.push_back({{"targets", {t->address}},
                      {"labels",
                       {{"__scheme__", t->scheme},
                        {"__metrics_path__", t->metrics_path},
                        {"zlh_node_id", n.id},
                        {"zlh_node_name", n.name}}}});
  }
  done(jsonResponse(200, groups));
}

}  // namespace zlh::coordinator::api
