#include "plugins/lifecycle/artifact_fetch.h"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <algorithm>
#include <memory>
#include <mutex>

namespace zlh::plugins::lifecycle {
namespace sdk = agent::sdk;

namespace {

std::string toHex(const unsigned char* p, size_t n) {
  static const char* kHex = "0123456789abcdef";
  std::string s;
  s.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    s.push_back(kHex[p[i] >> 4]);
    s.push_back(kHex[p[i] & 15]);
  }
  return s;
}

bool isSha256Hex(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

struct Download {
  PendingFile* file = nullptr;
  EVP_MD_CTX* md = nullptr;
  uint64_t bytes = 0;
  uint64_t max_bytes = 0;
  sdk::Status write_error;
  bool too_big = false;
  const FetchOptions* options = nullptr;
};

size_t onData(char* data, size_t size, size_t nmemb, void* user) {
  auto* d = static_cast<Download*>(user);
  size_t n = size * nmemb;
  d->bytes += n;
  if (d->bytes > d->max_bytes) {
    d->too_big = true;
    return 0;
  }
  EVP_DigestUpdate(d->md, data, n);
  if (auto st = d->file->write(std::string_view(data, n)); !st.ok()) {
    d->write_error = st;
    return 0;
  }
  return n;
}

int onProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* d = static_cast<Download*>(user);
  return d->options->cancelled && d->options->cancelled() ? 1 : 0;
}

using CurlPtr = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;
using MdPtr = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

void setOptions(CURL* c, const std::string& url, Download& d, const FetchOptions& o, char* errbuf) {
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, long(o.timeout_s));
  curl_easy_setopt(c, CURLOPT_USERAGENT, "zlh-agent");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, onData);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &d);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, onProgress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &d);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
}

sdk::Status transferError(CURL* c, CURLcode rc, const Download& d, const std::string& url,
                          const char* errbuf) {
  std::string where = "download " + redactUrl(url) + ": ";
  if (!d.write_error.ok()) return d.write_error.error().withContext(where + "write");
  if (d.too_big)
    return sdk::makeError(sdk::ErrorCode::kInvalidArgument,
                          where + "larger than " + std::to_string(d.max_bytes) + " bytes");
  if (rc == CURLE_ABORTED_BY_CALLBACK)
    return sdk::makeError(sdk::ErrorCode::kDeadlineExceeded, where + "cancelled");
  if (rc == CURLE_UNSUPPORTED_PROTOCOL)
    return sdk::makeError(sdk::ErrorCode::kInvalidArgument, where + "only http and https URLs");
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  std::string detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
  if (rc == CURLE_HTTP_RETURNED_ERROR) detail = "HTTP status " + std::to_string(status);
  auto code = rc == CURLE_OPERATION_TIMEDOUT ? sdk::ErrorCode::kDeadlineExceeded
                                             : sdk::ErrorCode::kUnavailable;
  return sdk::makeError(code, where + detail);
}

}  // namespace

void initCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string redactUrl(const std::string& url) {
  std::string out = url.substr(0, url.find_first_of("?#"));
  size_t scheme = out.find("://");
  size_t host = scheme == std::string::npos ? 0 : scheme + 3;
  size_t at = out.find('@', host);
  size_t slash = out.find('/', host);
  if (at != std::string::npos && (slash == std::string::npos || at < slash))
    out.erase(host, at + 1 - host);
  return out;
}

std::string sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  return toHex(digest, len);
}

sdk::Status fetchArtifact(const SafeRoot& root, const std::string& url, const std::string& sha256,
                          const std::string& rel, const FetchOptions& options) {
  std::string want = sha256;
  std::transform(want.begin(), want.end(), want.begin(), ::tolower);
  if (!isSha256Hex(want))
    return sdk::makeError(sdk::ErrorCode::kInvalidArgument,
                          "sha256 \"" + sha256 + "\" is not 64 hex digits");
  auto pending = root.createPending(rel, 0644);
  if (!pending.ok()) return pending.error();
  initCurlOnce();
  CurlPtr curl(curl_easy_init(), curl_easy_cleanup);
  MdPtr md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!curl || !md || EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) != 1)
    return sdk::makeError(sdk::ErrorCode::kInternal, "download: cannot initialise curl/OpenSSL");
  Download d;
  d.file = &pending.value();
  d.md = md.get();
  d.max_bytes = options.max_bytes;
  d.options = &options;
  char errbuf[CURL_ERROR_SIZE] = {};
  setOptions(curl.get(), url, d, options, errbuf);
  CURLcode rc = curl_easy_perform(curl.get());
  if (rc != CURLE_OK) return transferError(curl.get(), rc, d, url, errbuf);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(md.get(), digest, &len);
  std::string got = toHex(digest, len);
  if (got != want)
    return sdk::makeError(
        sdk::ErrorCode::kFailedPrecondition,
        "download " + redactUrl(url) + ": sha256 mismatch: expected " + want + ", got " + got);
  return pending->commit();
}

}  // namespace zlh::plugins::lifecycle
