#include <gtest/gtest.h>

#include "plugins/lifecycle/probes.h"
#include "plugins/lifecycle/tests/test_support.h"

namespace zlh::plugins::lifecycle {
namespace {
namespace sdk = agent::sdk;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

std::vector<uint8_t> varint(int32_t v) {
  std::vector<uint8_t> out;
  appendVarInt(out, v);
  return out;
}

TEST(SlpWireTest, VarInts) {
  EXPECT_EQ(varint(0), (std::vector<uint8_t>{0x00}));
  EXPECT_EQ(varint(127), (std::vector<uint8_t>{0x7f}));
  EXPECT_EQ(varint(128), (std::vector<uint8_t>{0x80, 0x01}));
  EXPECT_EQ(varint(25565), (std::vector<uint8_t>{0xdd, 0xc7, 0x01}));
  EXPECT_EQ(varint(-1), (std::vector<uint8_t>{0xff, 0xff, 0xff, 0xff, 0x0f}));
  for (int32_t v : {0, 1, 300, 765, 2097151, -1, INT32_MAX, INT32_MIN}) {
    auto bytes = varint(v);
    size_t pos = 0;
    EXPECT_EQ(readVarInt(bytes, pos), v);
    EXPECT_EQ(pos, bytes.size());
  }
  std::vector<uint8_t> incomplete{0x80};
  size_t pos = 0;
  EXPECT_FALSE(readVarInt(incomplete, pos).has_value());
  std::vector<uint8_t> too_long{0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
  pos = 0;
  EXPECT_FALSE(readVarInt(too_long, pos).has_value());
}

TEST(SlpWireTest, Handshake) {
  auto h = buildHandshake("a", 25565, 765);
  // [len=9][id 0][765 = fd 05][len 1 "a"][63 dd][1] then [1][0]
  EXPECT_EQ(
      h, (std::vector<uint8_t>{0x08, 0x00, 0xfd, 0x05, 0x01, 'a', 0x63, 0xdd, 0x01, 0x01, 0x00}));
}

TEST(SlpTest, RealMinecraftProtocolServerAnswers) {
  test::TempDir cwd;
  uint16_t port = test::freePort();
  test::Child server({"node", std::string(ZLH_SOURCE_DIR) + "/tests/fixtures/mc-server/server.mjs",
                      "--host", "127.0.0.1", "--port", std::to_string(port), "--motd", "slp test"},
                     cwd.path(), {{"FORCE_COLOR", "0"}});
  ASSERT_TRUE(server.waitForOutput("Done (", milliseconds(30000))) << server.output();
  auto s = serverListPing("127.0.0.1", port, milliseconds(5000));
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->players_online, 0);
  EXPECT_EQ(s->players_max, 20);
  EXPECT_EQ(s->version_name, "1.20.4");
  EXPECT_EQ(s->protocol, 765);
  EXPECT_EQ(s->raw["description"]["text"], "slp test");
  auto summary = s->summary();
  EXPECT_EQ(summary["players_online"], 0);
  // The same through the generic probe, with protocol 765 as a client of that version would.
  auto p = serverListPing("127.0.0.1", port, milliseconds(5000), 765);
  EXPECT_TRUE(p.ok());
  ProbeTarget t{PingKind::kMinecraft, "127.0.0.1", port, "/", 0, milliseconds(5000)};
  auto r = runProbe(t);
  EXPECT_TRUE(r.status.ok());
  ASSERT_TRUE(r.slp.has_value());
  t.kind = PingKind::kTcp;
  EXPECT_TRUE(runProbe(t).status.ok());
}

TEST(SlpTest, SilentServerTimesOut) {
  test::SilentServer silent;
  auto t0 = steady_clock::now();
  auto s = serverListPing("127.0.0.1", silent.port(), milliseconds(300));
  auto took = steady_clock::now() - t0;
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, sdk::ErrorCode::kDeadlineExceeded) << s.error().message;
  EXPECT_GE(took, milliseconds(280));
  EXPECT_LT(took, milliseconds(3000));
}

TEST(SlpTest, RefusedAndGarbage) {
  uint16_t closed = test::freePort();
  auto s = serverListPing("127.0.0.1", closed, milliseconds(1000));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, sdk::ErrorCode::kUnavailable);
  EXPECT_FALSE(tcpProbe("127.0.0.1", closed, milliseconds(1000)).ok());
  test::HttpServer http;  // answers HTTP, not the Minecraft protocol
  auto g = serverListPing("127.0.0.1", http.port(), milliseconds(2000));
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().code, sdk::ErrorCode::kUnavailable) << g.error().message;
}

TEST(HttpProbeTest, StatusChecks) {
  test::HttpServer http;
  http.serve("/healthz", "ok");
  http.serve("/moved", "", 302);
  EXPECT_TRUE(httpProbe("127.0.0.1", http.port(), "/healthz", 200, milliseconds(2000)).ok());
  EXPECT_TRUE(httpProbe("127.0.0.1", http.port(), "/healthz", 0, milliseconds(2000)).ok());
  EXPECT_TRUE(httpProbe("127.0.0.1", http.port(), "/moved", 0, milliseconds(2000)).ok());
  EXPECT_FALSE(httpProbe("127.0.0.1", http.port(), "/moved", 200, milliseconds(2000)).ok());
  auto missing = httpProbe("127.0.0.1", http.port(), "/nope", 0, milliseconds(2000));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("status 404"), std::string::npos);
  test::SilentServer silent;
  auto slow = httpProbe("127.0.0.1", silent.port(), "/", 0, milliseconds(300));
  ASSERT_FALSE(slow.ok());
  EXPECT_EQ(slow.error().code, sdk::ErrorCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace zlh::plugins::lifecycle
