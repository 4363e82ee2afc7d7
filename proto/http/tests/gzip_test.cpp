#include "proto/http/gzip.h"

#include <gtest/gtest.h>
#include <zlib.h>

namespace zlh::proto::http {
namespace {

std::string gunzip(const std::string& in) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  std::string out(in.size() * 20 + 64, '\0');  // text shrinks well under 20x
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = uInt(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = uInt(out.size());
  EXPECT_EQ(inflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  inflateEnd(&z);
  return out;
}

TEST(AcceptsGzip, HeaderValues) {
  EXPECT_TRUE(acceptsGzip("gzip"));
  EXPECT_TRUE(acceptsGzip("GZip"));
  EXPECT_TRUE(acceptsGzip("deflate, gzip;q=0.5, br"));
  EXPECT_TRUE(acceptsGzip("x-gzip"));
  EXPECT_TRUE(acceptsGzip("*"));
  EXPECT_TRUE(acceptsGzip(" identity ; q=1 , gzip ; q=0.001"));
  EXPECT_TRUE(acceptsGzip("gzip, deflate, br"));
  EXPECT_TRUE(acceptsGzip("identity, *;q=0.1"));
  EXPECT_TRUE(acceptsGzip("gzip;q=0, gzip;q=0.5"));  // the best q of a repeated coding counts
  EXPECT_FALSE(acceptsGzip(""));
  EXPECT_FALSE(acceptsGzip("identity"));
  EXPECT_FALSE(acceptsGzip("deflate, br"));
  EXPECT_FALSE(acceptsGzip("gzip;q=0"));
  EXPECT_FALSE(acceptsGzip("gzip;q=0.000"));
  EXPECT_FALSE(acceptsGzip("*;q=1, gzip;q=0"));  // explicit gzip wins over *
  EXPECT_FALSE(acceptsGzip("gzip;q=x"));
  EXPECT_FALSE(acceptsGzip("gzipx"));
  EXPECT_FALSE(acceptsGzip("*;q=0"));
  EXPECT_FALSE(acceptsGzip("gzip;q=0, *"));  // gzip refused by name beats the wildcard
  EXPECT_FALSE(acceptsGzip("deflate, br"));
}

TEST(GzipCompress, RoundTrips) {
  std::string text;
  for (int i = 0; i < 2000; ++i)
    text += "node_cpu_seconds_total{cpu=\"" + std::to_string(i) + "\"} 1\n";
  std::string z;
  ASSERT_TRUE(gzipCompress(text, z));
  EXPECT_LT(z.size(), text.size() / 4);
  EXPECT_EQ(uint8_t(z[0]), 0x1f);  // gzip magic
  EXPECT_EQ(uint8_t(z[1]), 0x8b);
  EXPECT_EQ(gunzip(z), text);
  ASSERT_TRUE(gzipCompress("", z));
  EXPECT_EQ(gunzip(z), "");
}

TEST(GzipEncoder, ReusedStateGivesIndependentStreams) {
  GzipEncoder enc;
  std::string a, b = "node_load1 0.5\n", z;
  for (int i = 0; i < 3000; ++i)
    a += "node_x_total{device=\"d" + std::to_string(i * 7919) + "\"} 1\n";
  for (const std::string* s : {&a, &b, &a, &b}) {
    ASSERT_TRUE(enc.compress(*s, z));
    EXPECT_TRUE(gunzip(z) == *s) << s->size();
  }
}

TEST(GzipEncoder, IncompressibleAndLargeInputRoundTrips) {
  GzipEncoder enc;
  std::string random(300'000, '\0'), big, z;
  uint32_t x = 2463534242u;  // xorshift32: bytes no compressor can shrink
  for (char& c : random) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    c = char(x);
  }
  for (int i = 0; i < 40'000; ++i) big += "zlh_instance_up{instance_id=\"" + std::to_string(i) + "\"} 1\n";
  for (const std::string* s : {&random, &big, &random}) {
    ASSERT_TRUE(enc.compress(*s, z));  // past the first guess of the output size for random bytes
    EXPECT_TRUE(gunzip(z) == *s) << s->size();
    // Level 0 Huffman-codes even bytes it cannot shrink (~23% more); /metrics text shrinks 5x.
    EXPECT_LT(z.size(), s == &random ? s->size() * 13 / 10 : s->size() / 5);
  }
}

}  // namespace
}  // namespace zlh::proto::http
