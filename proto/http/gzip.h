#pragma once
// gzip for HTTP response bodies, shared by the agent's and the coordinator's /metrics: Debian's
// libwebsockets 4.1.6 has no HTTP stream compression (FIELD-NOTES.md), so a body is compressed
// whole with ISA-L's igzip before it is handed to the transport. /metrics text compresses ~5-10x. Also the
// Accept-Encoding negotiation (RFC 9110 section 12.5.3) that decides whether to use it.
#include <memory>
#include <string>
#include <string_view>

namespace zlh::proto::http {

/// Whether an Accept-Encoding header value allows gzip: a `gzip` (or `x-gzip`, or `*`) coding
/// whose q-value is not 0; gzip refused by name ("gzip;q=0") beats the wildcard. Codings are
/// case-insensitive; an empty header allows only identity.
bool acceptsGzip(std::string_view accept_encoding);

/// gzip (RFC 1952) of `data` at a fast level; false only if the compressor fails.
bool gzipCompress(std::string_view data, std::string& out);

/// The same, keeping the compressor's state (82 KB, allocated at the first use) between calls, so
/// a scrape neither maps nor zeroes it. igzip level 0 gzips a 30 KB scrape to 6.4 KB in ~22 us
/// where zlib level 1 took ~67 us for 5.7 KB (with its 260 KB state reused; ~200 us without):
/// docs/benchmarks.md, "Metrics".
class GzipEncoder {
 public:
  GzipEncoder();
  ~GzipEncoder();
  GzipEncoder(const GzipEncoder&) = delete;
  GzipEncoder& operator=(const GzipEncoder&) = delete;
  bool compress(std::string_view data, std::string& out);

 private:
  struct State;  // ISA-L's stream and level buffer, kept out of this header
  std::unique_ptr<State> state_;
};

}  // namespace zlh::proto::http
