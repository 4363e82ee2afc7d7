#pragma once
// An agent's advertised metrics URL (hello.metrics_url) as a Prometheus scrape target: what
// GET /api/v1/sd/agents serves (docs/metrics.md, "Service discovery").
#include <optional>
#include <string>
#include <string_view>

namespace zlh::coordinator::api {

struct ScrapeTarget {
  std::string scheme;        // http | https -> __scheme__
  std::string address;       // host:port ([v6]:port), the port explicit -> targets
  std::string metrics_path;  // -> __metrics_path__
};

/// `http(s)://host[:port][/path]`. The port defaults to 80/443, an empty path to /metrics
/// (Prometheus's default). nullopt for anything Prometheus could not scrape as is, or should not:
/// another scheme, user info (a credential), a query or fragment, a bad host or port.
std::optional<ScrapeTarget> scrapeTarget(std::string_view url);

}  // namespace zlh::coordinator::api
