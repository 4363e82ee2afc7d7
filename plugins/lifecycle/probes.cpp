#include "plugins/lifecycle/probes.h"

#include <curl/curl.h>

#include <memory>
#include <mutex>

#include "plugins/lifecycle/artifact_fetch.h"
#include "plugins/lifecycle/socket_util.h"

namespace zlh::plugins::lifecycle {
namespace sdk = agent::sdk;
using Clock = std::chrono::steady_clock;

namespace {

size_t discard(char*, size_t size, size_t nmemb, void*) { return size * nmemb; }

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
  initCurlOnce();
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> c(curl_easy_init(), curl_easy_cleanup);
  if (!c) return sdk::makeError(sdk::ErrorCode::kInternal, "http probe: cannot initialise curl");
  std::string url = "http://" + hostForUrl(host) + ":" + std::to_string(port) + path;
  curl_easy_setopt(c.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(c.get(), CURLOPT_PROTOCOLS_STR, "http");
  curl_easy_setopt(c.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c.get(), CURLOPT_TIMEOUT_MS, long(timeout.count()));
  curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(c.get(), CURLOPT_USERAGENT, "zlh-agent");
  CURLcode rc = curl_easy_perform(c.get());
  if (rc != CURLE_OK) {
    auto code = rc == CURLE_OPERATION_TIMEDOUT ? sdk::ErrorCode::kDeadlineExceeded
                                               : sdk::ErrorCode::kUnavailable;
    return sdk::makeError(code, "http probe " + url + ": " + curl_easy_strerror(rc));
  }
  long status = 0;
  curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &status);
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
