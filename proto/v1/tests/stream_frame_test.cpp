#include "proto/v1/stream_frame.h"

#include <gtest/gtest.h>

namespace zlh::proto {
namespace {

TEST(StreamFrame, HeaderIsBigEndian) {
  auto f = encodeStreamFrame(0x01020304u, "hi");
  ASSERT_EQ(f.size(), 6u);
  EXPECT_EQ(f, std::string("\x01\x02\x03\x04hi", 6));
  auto max = encodeStreamFrame(0xffffffffu, "");
  EXPECT_EQ(max, std::string("\xff\xff\xff\xff", 4));
}

TEST(StreamFrame, RoundTrip) {
  for (uint32_t id : {0u, 1u, 0x80u, 0x8000u, 0x7fffffffu, 0x80000000u, 0xfffffffeu, 0xffffffffu}) {
    const std::string payload("a\0b\xff", 4);
    auto text = encodeStreamFrame(id, payload);
    auto f = decodeStreamFrame(text);
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(f->stream_id, id);
    EXPECT_EQ(f->payload, payload);
  }
}

TEST(StreamFrame, DecodesKnownBytes) {
  const std::string bytes("\x00\x00\x01\x00payload", 11);
  auto f = decodeStreamFrame(bytes);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->stream_id, 256u);
  EXPECT_EQ(f->payload, "payload");
  // The payload views into the given buffer.
  EXPECT_EQ(f->payload.data(), bytes.data() + 4);
}

TEST(StreamFrame, EmptyPayload) {
  auto f = decodeStreamFrame(std::string("\x00\x00\x00\x07", 4));
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->stream_id, 7u);
  EXPECT_TRUE(f->payload.empty());
}

TEST(StreamFrame, TooShort) {
  EXPECT_FALSE(decodeStreamFrame("").has_value());
  EXPECT_FALSE(decodeStreamFrame(std::string("\x00", 1)).has_value());
  EXPECT_FALSE(decodeStreamFrame(std::string("\x00\x00\x01", 3)).has_value());
}

TEST(StreamFrame, PayloadLimit) {
  EXPECT_EQ(kMaxStreamPayloadBytes, 65536u);
  const std::string atLimit = encodeStreamFrame(9, std::string(kMaxStreamPayloadBytes, 'x'));
  auto f = decodeStreamFrame(atLimit);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->payload.size(), kMaxStreamPayloadBytes);
  const std::string over = encodeStreamFrame(9, std::string(kMaxStreamPayloadBytes + 1, 'x'));
  EXPECT_FALSE(decodeStreamFrame(over).has_value());
}

}  // namespace
}  // namespace zlh::proto
