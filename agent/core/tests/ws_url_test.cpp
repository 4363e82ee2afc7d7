#include "agent/core/config/ws_url.h"

#include <gtest/gtest.h>

namespace zlh::agent::core {
namespace {

TEST(WsUrl, ParsesSchemesPortsAndPaths) {
  auto u = parseWsUrl("wss://coord.example");
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->path, "/agent/v1/connect");
  EXPECT_EQ(u->hostHeader(), "coord.example");

  u = parseWsUrl("ws://127.0.0.1:7420/");
  ASSERT_TRUE(u.ok());
  EXPECT_FALSE(u->tls);
  EXPECT_EQ(u->port, 7420);
  EXPECT_EQ(u->path, "/agent/v1/connect");
  EXPECT_EQ(u->hostHeader(), "127.0.0.1:7420");

  u = parseWsUrl("ws://[::1]:9/custom/path?x=1");
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->ipv6);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->path, "/custom/path?x=1");
  EXPECT_EQ(u->hostHeader(), "[::1]:9");
}

TEST(WsUrl, RejectsBadUrls) {
  EXPECT_EQ(parseWsUrl("http://x").error().message, "must start with ws:// or wss://");
  EXPECT_EQ(parseWsUrl("ws://").error().message, "has no host");
  EXPECT_EQ(parseWsUrl("ws://:80").error().message, "has no host");
  EXPECT_EQ(parseWsUrl("ws://h:0").error().message, "has a bad port");
  EXPECT_EQ(parseWsUrl("ws://h:x").error().message, "has a bad port");
  EXPECT_FALSE(parseWsUrl("ws://u:p@h").ok());
  EXPECT_FALSE(parseWsUrl("ws://[::1").ok());
  EXPECT_FALSE(parseWsUrl("ws://h h").ok());
}

TEST(WsUrl, Loopback) {
  EXPECT_TRUE(isLoopbackHost("localhost"));
  EXPECT_TRUE(isLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(isLoopbackHost("127.255.0.9"));
  EXPECT_TRUE(isLoopbackHost("::1"));
  EXPECT_FALSE(isLoopbackHost("128.0.0.1"));
  EXPECT_FALSE(isLoopbackHost("10.0.0.1"));
  EXPECT_FALSE(isLoopbackHost("localhost.example"));
  EXPECT_FALSE(isLoopbackHost("::2"));
}

TEST(HostPort, Parses) {
  auto hp = parseHostPort("127.0.0.1:7421");
  ASSERT_TRUE(hp.ok());
  EXPECT_EQ(hp->port, 7421);
  hp = parseHostPort("[::1]:0");
  ASSERT_TRUE(hp.ok());
  EXPECT_EQ(hp->text(), "[::1]:0");
  EXPECT_FALSE(parseHostPort("7421").ok());
  EXPECT_FALSE(parseHostPort("h:").ok());
  EXPECT_FALSE(parseHostPort("h:70000").ok());
}

}  // namespace
}  // namespace zlh::agent::core
