#include "plugins/lifecycle/probes.h"

#include "plugins/lifecycle/http_get.h"
#include "plugins/lifecycle/socket_util.h"

namespace zlh::plugins::lifecycle {
namespace sdk = agent::sdk;
using Clock = std::chrono::steady_clock;

namespace {

std::string hostForUrl(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

}  // namespace

sdk::Status tcpProbe(const std::string& host, uint16_t port, std::chrono::milliseconds timeout) {
  auto fd = connectWithDeadline(host, port, Clock::now() + timeout);
  if (!fd.ok()) return fd.error().withContext("tcp probe");
  return {};
}

sdk::Status httpProbe(const std::string& host, uint16_t port, const std::string& path,
                      int expect_status, std::chrono::milliseconds timeout) {
  std::string url = "http://" + hostForUrl(host) + ":" + std::to_string(port) + path;
  HttpGetOptions o;
  o.deadline = Clock::now() + timeout;
  o.max_body_bytes = 1 << 20;  // a health answer, not a download
  auto answer = httpGet(url, o);
  if (!answer.ok()) return answer.error().withContext("http probe " + url);
  int status = answer->status;
  bool ok = expect_status == 0 ? (status >= 100 && status < 400) : status == expect_status;
  if (!ok)
    return sdk::makeError(sdk::ErrorCode::kUnavailable,
                          "http probe " + url + ": status " + std::to_string(status) + ", want " +
                              (expect_status == 0 ? "< 400" : std::to_string(expect_status)));
  return {};
}

ProbeResult runProbe(const ProbeTarget& t) {
  ProbeResult r;
  switch (t.kind) {
    case PingKind::kNone:
      break;
    case PingKind::kTcp:
      r.status = tcpProbe(t.host, t.port, t.timeout);
      break;
    case PingKind::kHttp:
      r.status = httpProbe(t.host, t.port, t.http_path, t.expect_status, t.timeout);
      break;
    case PingKind::kMinecraft: {
      auto s = serverListPing(t.host, t.port, t.timeout);
      if (s.ok())
        r.slp = std::move(s.value());
      else
        r.status = s.error();
      break;
    }
  }
  return r;
}

}  // namespace zlh::plugins::lifecycle
