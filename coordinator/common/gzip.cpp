#include "coordinator/common/gzip.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <optional>

namespace zlh::coordinator::common {
namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

/// The q-value of one list element's parameters ("q=0.5"); 1 when absent, 0 when malformed.
double qValue(std::string_view params) {
  while (!params.empty()) {
    size_t semi = params.find(';');
    std::string_view p = trim(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view() : params.substr(semi + 1);
    if (p.size() < 2 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=') continue;
    std::string v(trim(p.substr(2)));
    char* end = nullptr;
    double q = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0' || q < 0 || q > 1) return 0;
    return q;
  }
  return 1;
}
}  // namespace

bool acceptsGzip(std::string_view header) {
  std::optional<double> gzip_q, star_q;
  while (!header.empty()) {
    size_t comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    size_t semi = item.find(';');
    std::string coding = lower(trim(item.substr(0, semi)));
    double q = semi == std::string_view::npos ? 1 : qValue(item.substr(semi + 1));
    if (coding == "gzip" || coding == "x-gzip") gzip_q = std::max(gzip_q.value_or(0), q);
    else if (coding == "*") star_q = q;
  }
  if (gzip_q) return *gzip_q > 0;
  return star_q && *star_q > 0;
}

proto::Result<std::string> gzipCompress(std::string_view data) {
  z_stream z{};
  // windowBits 15 + 16: a gzip header and trailer instead of zlib's. Level 6: zlib's default,
  // most of level 9's ratio on text for a fraction of the CPU.
  if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return proto::makeError(proto::ErrorCode::kInternal, "gzip: cannot initialise zlib");
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  // deflateBound guarantees one Z_FINISH call is enough.
  if (rc != Z_STREAM_END) return proto::makeError(proto::ErrorCode::kInternal, "gzip: deflate failed");
  return out;
}

}  // namespace zlh::coordinator::common
