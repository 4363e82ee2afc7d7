#include "agent/core/transport/ws_client_frame.h"

#include <cstring>

namespace zlh::agent::core::transport_detail {

size_t clientFrameHeaderSize(size_t payload_len) {
  return 2 + (payload_len < 126 ? 0 : payload_len <= 0xffff ? 2 : 8) + 4;
}

size_t writeClientFrame(unsigned char* out, bool binary, std::string_view payload,
                        const unsigned char key[4]) {
  const size_t len = payload.size();
  unsigned char* p = out;
  *p++ = 0x80 | (binary ? 0x2 : 0x1);  // FIN, opcode
  if (len < 126) {
    *p++ = static_cast<unsigned char>(0x80 | len);
  } else if (len <= 0xffff) {
    *p++ = 0x80 | 126;
    *p++ = static_cast<unsigned char>(len >> 8);
    *p++ = static_cast<unsigned char>(len);
  } else {
    *p++ = 0x80 | 127;
    for (int shift = 56; shift >= 0; shift -= 8) *p++ = static_cast<unsigned char>(len >> shift);
  }
  std::memcpy(p, key, 4);
  p += 4;
  // Payload byte i is XORed with key[i % 4]: eight bytes at a time with the key repeated twice.
  uint64_t key8;
  unsigned char repeated[8] = {key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]};
  std::memcpy(&key8, repeated, 8);
  const auto* in = reinterpret_cast<const unsigned char*>(payload.data());
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t word;
    std::memcpy(&word, in + i, 8);
    word ^= key8;
    std::memcpy(p + i, &word, 8);
  }
  for (; i < len; ++i) p[i] = in[i] ^ key[i % 4];
  return static_cast<size_t>(p - out) + len;
}

}  // namespace zlh::agent::core::transport_detail
