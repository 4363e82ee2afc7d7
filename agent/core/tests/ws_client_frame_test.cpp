#include "agent/core/transport/ws_client_frame.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace zlh::agent::core::transport_detail {
namespace {

std::vector<unsigned char> frame(bool binary, std::string_view payload, const unsigned char key[4]) {
  std::vector<unsigned char> out(clientFrameHeaderSize(payload.size()) + payload.size());
  out.resize(writeClientFrame(out.data(), binary, payload, key));
  return out;
}

// RFC 6455 section 5.7: a single-frame masked text message "Hello".
TEST(WsClientFrame, MatchesTheRfcExample) {
  const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
  EXPECT_EQ(frame(false, "Hello", key),
            (std::vector<unsigned char>{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51,
                                        0x58}));
}

// Every length encoding, and payloads whose length is no multiple of the eight-byte step: the
// header is what RFC 6455 section 5.2 says, and unmasking byte by byte gives the payload back.
TEST(WsClientFrame, LengthsAndMaskingRoundTrip) {
  const unsigned char key[4] = {0xa5, 0x01, 0xff, 0x5a};
  for (size_t len : {0, 1, 7, 8, 9, 125, 126, 127, 65535, 65536, 70001}) {
    std::string payload(len, '\0');
    for (size_t i = 0; i < len; ++i) payload[i] = static_cast<char>(i * 31 + 7);
    auto f = frame(true, payload, key);
    ASSERT_EQ(f.size(), clientFrameHeaderSize(len) + len) << len;
    EXPECT_EQ(f[0], 0x82) << len;  // FIN, binary
    ASSERT_TRUE(f[1] & 0x80) << len;  // masked
    size_t at = 2, got = f[1] & 0x7f;
    if (got == 126) {
      got = (size_t(f[2]) << 8) | f[3];
      at = 4;
    } else if (got == 127) {
      got = 0;
      for (int i = 0; i < 8; ++i) got = (got << 8) | f[2 + i];
      at = 10;
    }
    EXPECT_EQ(got, len);
    EXPECT_EQ(len < 126 ? 2u : len <= 0xffff ? 4u : 10u, at) << "shortest length encoding";
    ASSERT_EQ(std::vector<unsigned char>(f.begin() + at, f.begin() + at + 4),
              std::vector<unsigned char>(key, key + 4));
    at += 4;
    std::string unmasked(len, '\0');
    for (size_t i = 0; i < len; ++i) unmasked[i] = static_cast<char>(f[at + i] ^ key[i % 4]);
    EXPECT_EQ(unmasked, payload) << len;
  }
}

}  // namespace
}  // namespace zlh::agent::core::transport_detail
