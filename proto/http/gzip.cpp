#include "proto/http/gzip.h"

#include <zlib.h>

#include <algorithm>
#include <cstdlib>

namespace zlh::proto::http {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool equalsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = char(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = char(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// q-value of one "coding;q=0.5" element: 1 when absent; 0 when zero or unparsable as positive.
double qValue(std::string_view params) {
  while (!params.empty()) {
    const size_t semi = params.find(';');
    std::string_view p = trim(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view() : params.substr(semi + 1);
    if (p.size() >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
      std::string v(trim(p.substr(2)));
      char* end = nullptr;
      const double q = std::strtod(v.c_str(), &end);
      return (end && *end == '\0' && q > 0) ? q : 0;
    }
  }
  return 1;
}

}  // namespace

bool acceptsGzip(std::string_view header) {
  double gzip = -1, star = -1;
  while (!header.empty()) {
    const size_t comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    const size_t semi = item.find(';');
    std::string_view coding = trim(item.substr(0, semi));
    const double q =
        qValue(semi == std::string_view::npos ? std::string_view() : item.substr(semi + 1));
    if (equalsNoCase(coding, "gzip") || equalsNoCase(coding, "x-gzip"))
      gzip = std::max(gzip, q);
    else if (coding == "*")
      star = q;
  }
  if (gzip >= 0) return gzip > 0;  // an explicit gzip entry wins over "*"
  return star > 0;
}

namespace {
// windowBits 15 + 16: a gzip header and trailer; level 1: the text is small and repetitive,
// higher levels cost CPU for a few percent.
bool init(z_stream& z) {
  return deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
}

bool run(z_stream& z, std::string_view data, std::string& out) {
  out.resize(deflateBound(&z, uLong(data.size())));
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = uInt(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = uInt(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(rc == Z_STREAM_END ? z.total_out : 0);
  return rc == Z_STREAM_END;
}
}  // namespace

bool gzipCompress(std::string_view data, std::string& out) {
  z_stream z{};
  if (!init(z)) return false;
  const bool ok = run(z, data, out);
  deflateEnd(&z);
  return ok;
}

GzipEncoder::~GzipEncoder() {
  if (auto* z = static_cast<z_stream*>(stream_)) {
    deflateEnd(z);
    delete z;
  }
}

bool GzipEncoder::compress(std::string_view data, std::string& out) {
  auto* z = static_cast<z_stream*>(stream_);
  if (!z) {
    z = new z_stream{};
    if (!init(*z)) {
      delete z;
      return false;
    }
    stream_ = z;
  } else if (deflateReset(z) != Z_OK) {
    return false;
  }
  return run(*z, data, out);
}

}  // namespace zlh::proto::http
