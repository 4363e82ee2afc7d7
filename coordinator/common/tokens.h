#pragma once
// Secrets and ids: random tokens shown once and stored as SHA-256 hex, opaque prefixed ids.
#include <cstddef>
#include <string>
#include <string_view>

namespace zlh::coordinator::common {

inline constexpr std::string_view kTokenPrefix = "zlh_";
/// Characters of a token after its prefix: base62 of 32 random bytes, fixed width.
inline constexpr size_t kTokenBodyChars = 43;

/// Fixed-width base62 (0-9A-Za-z, big-endian) of `n` bytes; left-padded with '0' to `width`.
std::string base62(const unsigned char* data, size_t n, size_t width);

/// Cryptographically random base62 text from `bytes` random bytes (OpenSSL RAND_bytes).
std::string randomBase62(size_t bytes);

/// A new API/agent token: "zlh_" + base62(32 random bytes).
std::string newToken();

/// A new opaque id: prefix ("usr_", "nd_", "tok_") + base62(16 random bytes).
std::string newId(std::string_view prefix);

/// Lower-case hex SHA-256 of `text`.
std::string sha256Hex(std::string_view text);

/// The stored form of a token.
inline std::string hashToken(std::string_view token) { return sha256Hex(token); }

/// True when `text` has a token's shape (prefix, length, alphabet). Cheap pre-check only.
bool looksLikeToken(std::string_view text);

/// Constant-time comparison (CRYPTO_memcmp); false on different lengths.
bool constantTimeEquals(std::string_view a, std::string_view b);

/// The token of an "Authorization: Bearer <token>" header value (scheme case-insensitive);
/// empty when the header is absent or of another scheme.
std::string_view bearerToken(std::string_view authorization);

/// What may be logged about a token: the first 8 chars of its hash.
inline std::string hashPrefix(std::string_view hash) { return std::string(hash.substr(0, 8)); }

}  // namespace zlh::coordinator::common
