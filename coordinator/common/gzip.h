#pragma once
// gzip for HTTP response bodies (Debian's libwebsockets 4.1.6 has no stream compression), and
// the Accept-Encoding negotiation that decides whether to use it (RFC 9110 section 12.5.3).
#include <string>
#include <string_view>

#include "proto/v1/result.h"

namespace zlh::coordinator::common {

/// True when an Accept-Encoding value allows gzip: "gzip", "x-gzip" or "*" with a q-value above
/// 0, and gzip not refused by its own "gzip;q=0". An empty or absent header allows nothing.
bool acceptsGzip(std::string_view accept_encoding);

/// The gzip (RFC 1952) form of `data`. Internal only when zlib fails (out of memory).
proto::Result<std::string> gzipCompress(std::string_view data);

}  // namespace zlh::coordinator::common
