#pragma once
// The read-only HTTP surface: GET /metrics (Prometheus text 0.0.4) and GET /healthz. Nothing
// here changes state. Loop thread.
#include <functional>
#include <string>
#include <string_view>

#include "agent/core/metrics/agent_metrics.h"
#include "agent/core/plugins/plugin_host.h"
#include "agent/core/transport/transport.h"
#include "proto/http/gzip.h"

namespace zlh::agent::core {

class StatusHttp : public HttpHandler {
 public:
  struct Deps {
    AgentMetrics* metrics = nullptr;
    PluginHost* host = nullptr;
    std::function<std::string_view()> link_state;  // "connected" | "connecting" | "backoff"
    std::string node_id;
    std::string version;
  };
  explicit StatusHttp(Deps deps) : deps_(std::move(deps)) {}

  void setTransport(Transport* transport) { transport_ = transport; }
  void onHttpRequest(HttpRequest request) override;
  /// The response for a request (no I/O): testable on its own.
  HttpResponse handle(const HttpRequest& request);

  std::string renderMetrics();
  std::string renderHealth() const;

 private:
  Deps deps_;
  Transport* transport_ = nullptr;
  sdk::MetricsWriter writer_;  // kept between scrapes: reset() reuses its buffers
  std::string gzip_buf_;
  proto::http::GzipEncoder gzip_;
};

}  // namespace zlh::agent::core
