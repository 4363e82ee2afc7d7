#pragma once
// gzip for read-only HTTP responses. Debian's libwebsockets 4.1.6 has no HTTP stream compression
// (FIELD-NOTES.md), so a response body is compressed whole with zlib before it is handed to the
// transport. /metrics text compresses ~8-10x.
#include <string>
#include <string_view>

namespace zlh::agent::core {

/// Whether an Accept-Encoding header value allows gzip: a `gzip` (or `x-gzip`, or `*`) coding
/// whose q-value is not 0. Codings are case-insensitive; an empty header allows only identity.
bool acceptsGzip(std::string_view accept_encoding);

/// gzip (RFC 1952) of `data` at a fast level; false only if zlib fails.
bool gzipCompress(std::string_view data, std::string& out);

/// The same, keeping zlib's state (~260 KB, allocated at the first use) between calls: a
/// deflateReset() instead of deflateInit2()/deflateEnd() halves the CPU of gzipping a scrape
/// (~100 instead of ~200 us for 30 KB here), most of which was mapping and zeroing that state.
class GzipEncoder {
 public:
  GzipEncoder() = default;
  ~GzipEncoder();
  GzipEncoder(const GzipEncoder&) = delete;
  GzipEncoder& operator=(const GzipEncoder&) = delete;
  bool compress(std::string_view data, std::string& out);

 private:
  void* stream_ = nullptr;  // z_stream*, kept out of this header
};

}  // namespace zlh::agent::core
