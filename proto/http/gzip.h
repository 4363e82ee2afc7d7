#pragma once
// gzip for HTTP response bodies, shared by the agent's and the coordinator's /metrics: Debian's
// libwebsockets 4.1.6 has no HTTP stream compression (FIELD-NOTES.md), so a body is compressed
// whole with zlib before it is handed to the transport. /metrics text compresses ~5-10x. Also the
// Accept-Encoding negotiation (RFC 9110 section 12.5.3) that decides whether to use it.
#include <string>
#include <string_view>

namespace zlh::proto::http {

/// Whether an Accept-Encoding header value allows gzip: a `gzip` (or `x-gzip`, or `*`) coding
/// whose q-value is not 0; gzip refused by name ("gzip;q=0") beats the wildcard. Codings are
/// case-insensitive; an empty header allows only identity.
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

}  // namespace zlh::proto::http
