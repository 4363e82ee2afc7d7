#include "coordinator/common/tokens.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

namespace zlh::coordinator::common {
namespace {
constexpr char kAlphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

bool isBase62(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
}  // namespace

std::string base62(const unsigned char* data, size_t n, size_t width) {
  std::vector<unsigned> num(data, data + n);
  std::string out;
  // Repeated division of the big-endian number by 62; digits come out least significant first.
  bool nonzero = true;
  while (nonzero) {
    nonzero = false;
    unsigned rem = 0;
    for (auto& d : num) {
      unsigned cur = rem * 256 + d;
      d = cur / 62;
      rem = cur % 62;
      if (d != 0) nonzero = true;
    }
    out.push_back(kAlphabet[rem]);
  }
  while (out.size() < width) out.push_back('0');
  return std::string(out.rbegin(), out.rend());
}

std::string randomBase62(size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1) {
    // No randomness means no safe secret can be made: stop rather than issue a weak one.
    std::fputs("zlh-coordinator: RAND_bytes failed: no secure randomness\n", stderr);
    std::abort();
  }
  // Width: ceil(bytes * 8 / log2(62)).
  size_t width = (bytes * 8 * 1000 + 5953) / 5954;
  std::string out = base62(buf.data(), buf.size(), width);
  OPENSSL_cleanse(buf.data(), buf.size());
  return out;
}

std::string newToken() { return std::string(kTokenPrefix) + randomBase62(32); }

std::string newId(std::string_view prefix) { return std::string(prefix) + randomBase62(16); }

std::string sha256Hex(std::string_view text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 0xf]);
  }
  return out;
}

bool looksLikeToken(std::string_view text) {
  if (text.size() != kTokenPrefix.size() + kTokenBodyChars) return false;
  if (text.substr(0, kTokenPrefix.size()) != kTokenPrefix) return false;
  for (char c : text.substr(kTokenPrefix.size()))
    if (!isBase62(c)) return false;
  return true;
}

std::string_view bearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size()) return {};
  for (size_t i = 0; i < kScheme.size(); ++i) {
    char c = authorization[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kScheme[i]) return {};
  }
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  return token;
}

bool constantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace zlh::coordinator::common
