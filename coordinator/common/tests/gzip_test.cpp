#include "coordinator/common/gzip.h"

#include <gtest/gtest.h>
#include <zlib.h>

namespace zlh::coordinator::common {
namespace {

/// Inflates a gzip stream with zlib (an independent reading of what gzipCompress wrote).
std::string gunzip(const std::string& in) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char buf[4096];
  int rc;
  do {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
  } while (rc == Z_OK);
  EXPECT_EQ(rc, Z_STREAM_END);
  inflateEnd(&z);
  return out;
}

TEST(Gzip, RoundTripsWithAGzipHeader) {
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "zlh_http_requests_total{route=\"/x\",code=\"200\"} 1\n";
  auto gz = gzipCompress(text);
  ASSERT_TRUE(gz.ok());
  ASSERT_GE(gz->size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>((*gz)[0]), 0x1f);  // gzip magic
  EXPECT_EQ(static_cast<unsigned char>((*gz)[1]), 0x8b);
  EXPECT_LT(gz->size(), text.size() / 10);
  EXPECT_EQ(gunzip(*gz), text);
  EXPECT_EQ(gunzip(*gzipCompress("")), "");
}

TEST(Gzip, AcceptEncodingNegotiation) {
  EXPECT_TRUE(acceptsGzip("gzip"));
  EXPECT_TRUE(acceptsGzip("gzip, deflate, br"));
  EXPECT_TRUE(acceptsGzip("deflate, GZIP;q=0.5"));
  EXPECT_TRUE(acceptsGzip("x-gzip"));
  EXPECT_TRUE(acceptsGzip("*"));
  EXPECT_TRUE(acceptsGzip("identity, *;q=0.1"));
  EXPECT_TRUE(acceptsGzip(" gzip ; q=1 "));
  EXPECT_FALSE(acceptsGzip(""));
  EXPECT_FALSE(acceptsGzip("identity"));
  EXPECT_FALSE(acceptsGzip("deflate, br"));
  EXPECT_FALSE(acceptsGzip("gzip;q=0"));
  EXPECT_FALSE(acceptsGzip("gzip;q=0.000"));
  EXPECT_FALSE(acceptsGzip("*;q=0"));
  EXPECT_FALSE(acceptsGzip("gzip;q=0, *"));  // gzip refused by name beats the wildcard
  EXPECT_FALSE(acceptsGzip("gzip;q=nonsense"));
  EXPECT_FALSE(acceptsGzip("gzipx, xgzip"));
}

}  // namespace
}  // namespace zlh::coordinator::common
