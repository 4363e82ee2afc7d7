#pragma once
// Downloads one install artifact (http_get.h) to a temporary file beneath the data dir, hashing as
// it goes (OpenSSL EVP SHA-256); only a verified file is renamed into place. Blocking: run it on
// the agent's pool.
#include <cstdint>
#include <functional>
#include <string>

#include "agent/sdk/result.h"
#include "plugins/lifecycle/safe_fs.h"

namespace zlh::plugins::lifecycle {

struct FetchOptions {
  uint32_t timeout_s = 600;         ///< whole transfer
  uint64_t max_bytes = 4ull << 30;  ///< refuse bigger artifacts
  std::function<bool()> cancelled;  ///< polled during the transfer
};

/// `sha256` must be 64 hex digits. Errors: InvalidArgument (bad hash, bad path, non-http(s)
/// URL), Unavailable (network, HTTP status >= 400), FailedPrecondition (checksum mismatch:
/// "sha256 mismatch: expected X, got Y"), Internal (disk). URLs in messages lose their query.
agent::sdk::Status fetchArtifact(const SafeRoot& root, const std::string& url,
                                 const std::string& sha256, const std::string& rel,
                                 const FetchOptions& options);

/// Hex SHA-256 of a byte string (for tests and checks).
std::string sha256Hex(std::string_view data);

/// "https://host/path" without "?query" / "#fragment" / "user:pass@".
std::string redactUrl(const std::string& url);

}  // namespace zlh::plugins::lifecycle
