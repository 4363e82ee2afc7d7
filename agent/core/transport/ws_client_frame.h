#pragma once
// A WebSocket client frame (RFC 6455 section 5.2) built by us, not by libwebsockets: lws masks a
// client's payload one byte at a time, which was 40% of the agent's CPU in a console flood
// (docs/benchmarks.md, "Console"). Here the mask is applied eight bytes at a time while the
// payload is copied in. The transport hands the whole frame to lws as raw bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace zlh::agent::core::transport_detail {

/// Header bytes of a masked client frame with `payload_len` bytes: 2 + 0/2/8 + 4 (the key).
size_t clientFrameHeaderSize(size_t payload_len);

/// Writes one final (FIN) masked frame, text or binary, carrying `payload` masked with `key`
/// (bytes in wire order) into `out`, which has room for clientFrameHeaderSize + payload.size().
/// Returns the frame's size.
size_t writeClientFrame(unsigned char* out, bool binary, std::string_view payload,
                        const unsigned char key[4]);

}  // namespace zlh::agent::core::transport_detail
