#include "plugins/lifecycle/artifact_fetch.h"

#include <openssl/evp.h>

#include <algorithm>
#include <memory>

#include "plugins/lifecycle/http_get.h"

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

using MdPtr = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

}  // namespace

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
  MdPtr md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!md || EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) != 1)
    return sdk::makeError(sdk::ErrorCode::kInternal, "download: cannot initialise SHA-256");
  HttpGetOptions o;
  o.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.timeout_s);
  o.max_redirects = 5;
  o.max_body_bytes = options.max_bytes;
  o.fail_on_http_error = true;
  o.cancelled = options.cancelled;
  o.on_body = [&](std::string_view data) -> sdk::Status {
    EVP_DigestUpdate(md.get(), data.data(), data.size());
    if (auto st = pending->write(data); !st.ok()) return st.error().withContext("write");
    return {};
  };
  std::string where = "download " + redactUrl(url);
  auto answer = httpGet(url, o);
  if (!answer.ok()) return answer.error().withContext(where);
  if (answer->status < 200 || answer->status >= 300)  // e.g. a 3xx without a Location
    return sdk::makeError(sdk::ErrorCode::kUnavailable,
                          where + ": HTTP status " + std::to_string(answer->status));
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
