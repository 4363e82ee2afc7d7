#include "agent/shim/byte_ring.h"

#include <gtest/gtest.h>

namespace zlh::agent::shim {
namespace {

TEST(ByteRing, KeepsEverythingBelowCapacity) {
  ByteRing ring(16);
  ring.append("hello ");
  ring.append("world");
  EXPECT_EQ(ring.contents(), "hello world");
  EXPECT_EQ(ring.size(), 11u);
}

TEST(ByteRing, KeepsTheLastBytesWhenWrapping) {
  ByteRing ring(8);
  std::string all;
  for (int i = 0; i < 100; ++i) {
    std::string piece = std::to_string(i) + ",";
    ring.append(piece);
    all += piece;
    ASSERT_EQ(ring.contents(), all.substr(all.size() > 8 ? all.size() - 8 : 0)) << i;
  }
  auto [a, b] = ring.views();
  EXPECT_EQ(a.size() + b.size(), 8u);
}

TEST(ByteRing, AppendLargerThanCapacity) {
  ByteRing ring(4);
  ring.append("ab");
  ring.append("0123456789");
  EXPECT_EQ(ring.contents(), "6789");
  ring.append("x");
  EXPECT_EQ(ring.contents(), "789x");
}

TEST(ByteRing, ZeroCapacityKeepsNothing) {
  ByteRing ring(0);
  ring.append("abc");
  EXPECT_EQ(ring.size(), 0u);
  EXPECT_EQ(ring.contents(), "");
}

}  // namespace
}  // namespace zlh::agent::shim
