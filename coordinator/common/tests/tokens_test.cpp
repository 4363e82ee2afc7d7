#include "coordinator/common/tokens.h"

#include <gtest/gtest.h>

#include <set>

namespace zlh::coordinator::common {
namespace {

TEST(Tokens, FormatIsPrefixAndFixedWidthBase62) {
  for (int i = 0; i < 200; ++i) {
    std::string t = newToken();
    ASSERT_EQ(t.size(), 4u + kTokenBodyChars) << t;
    EXPECT_EQ(t.substr(0, 4), "zlh_");
    EXPECT_TRUE(looksLikeToken(t)) << t;
  }
}

TEST(Tokens, AreUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(seen.insert(newToken()).second);
}

TEST(Tokens, LooksLikeTokenRejectsOtherShapes) {
  std::string t = newToken();
  EXPECT_FALSE(looksLikeToken(""));
  EXPECT_FALSE(looksLikeToken("zlh_"));
  EXPECT_FALSE(looksLikeToken("zlht_" + t.substr(5)));
  EXPECT_FALSE(looksLikeToken(t + "a"));
  EXPECT_FALSE(looksLikeToken(t.substr(0, t.size() - 1) + "-"));
}

TEST(Tokens, Base62KnownValues) {
  const unsigned char zero[2] = {0, 0};
  EXPECT_EQ(base62(zero, 2, 3), "000");
  const unsigned char n61[1] = {61};
  EXPECT_EQ(base62(n61, 1, 2), "0z");
  const unsigned char n62[1] = {62};
  EXPECT_EQ(base62(n62, 1, 2), "10");
  const unsigned char ff[2] = {0xff, 0xff};  // 65535 = 17*62^2 + 3*62 + 1
  EXPECT_EQ(base62(ff, 2, 3), "H31");
}

TEST(Tokens, IdsHavePrefixAndAreUnique) {
  std::string a = newId("nd_"), b = newId("nd_");
  EXPECT_EQ(a.substr(0, 3), "nd_");
  EXPECT_EQ(a.size(), 3u + 22u);
  EXPECT_NE(a, b);
}

TEST(Tokens, HashIsSha256Hex) {
  EXPECT_EQ(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::string t = newToken();
  EXPECT_EQ(hashToken(t), sha256Hex(t));
  EXPECT_EQ(hashToken(t).size(), 64u);
  EXPECT_EQ(hashPrefix(hashToken(t)).size(), 8u);
}

TEST(Tokens, ConstantTimeEquals) {
  EXPECT_TRUE(constantTimeEquals("abcdef", "abcdef"));
  EXPECT_FALSE(constantTimeEquals("abcdef", "abcdeg"));
  EXPECT_FALSE(constantTimeEquals("abc", "abcd"));
  EXPECT_TRUE(constantTimeEquals("", ""));
}

TEST(Tokens, BearerToken) {
  EXPECT_EQ(bearerToken("Bearer zlh_abc"), "zlh_abc");
  EXPECT_EQ(bearerToken("bearer   zlh_abc "), "zlh_abc");
  EXPECT_EQ(bearerToken("BEARER zlh_abc"), "zlh_abc");
  EXPECT_EQ(bearerToken("Basic dXNlcjpwYXNz"), "");
  EXPECT_EQ(bearerToken("Bearer"), "");
  EXPECT_EQ(bearerToken(""), "");
}

}  // namespace
}  // namespace zlh::coordinator::common
