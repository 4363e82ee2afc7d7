// The network module against raw sockets: HTTP answers, refusals before the upgrade (a real
// non-101 status), WebSocket messages and close codes.
#include "coordinator/net/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>

namespace zlh::coordinator::net {
namespace {
using namespace std::chrono_literals;

class RecordingHandler : public Handler {
 public:
  Server* server = nullptr;
  std::pair<std::string, std::string> extra_header;  // added to every HTTP answer when set
  void onHttpRequest(HttpRequest r) override {
    HttpResponse resp;
    if (!extra_header.first.empty()) resp.headers.push_back(extra_header);
    resp.body = "{\"path\":\"" + r.path + "\",\"len\":" + std::to_string(r.body.size()) + "}";
    record([&] { last_request = r; });
    server->respond(r.conn, resp);
  }
  void onWsOpen(ConnId c, const std::string&, const std::string& ctx) override {
    record([&] { ws_conn = c, ws_context = ctx, by_context[ctx] = c; });
  }
  void onWsMessage(ConnId c, std::string data, bool) override {
    record([&] { messages.push_back(data), message_conns.push_back(c); });
  }
  void onSpliceInput(ConnId c) override { record([&] { splice_inputs.push_back(c); }); }
  void onWsPong(ConnId) override {}
  void onWsClosed(ConnId) override { record([&] { closed = true; }); }
  void onHttpAnsweredLocally(int status) override { record([&] { local_answers.push_back(status); }); }

  template <class Pred>
  bool waitFor(Pred pred) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, 5s, pred);
  }
  std::mutex mu;
  std::condition_variable cv;
  HttpRequest last_request;
  ConnId ws_conn = 0;
  std::string ws_context;
  std::map<std::string, ConnId> by_context;
  std::vector<std::string> messages;
  std::vector<ConnId> message_conns;
  std::vector<ConnId> splice_inputs;
  std::vector<int> local_answers;
  bool closed = false;

 private:
  template <class F>
  void record(F f) {
    std::lock_guard lock(mu);
    f();
    cv.notify_all();
  }
};

/// A loopback connection; `rcvbuf` > 0 sets a receive buffer before connecting (a small window).
int connectTo(uint16_t port, int rcvbuf = 0) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  return fd;
}

/// Reads until `enough(data)` or 5 s pass.
std::string readUntil(int fd, const std::function<bool(const std::string&)>& enough) {
  std::string data;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!enough(data) && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  return data;
}

bool hasBody(const std::string& d) {
  auto h = d.find("\r\n\r\n");
  if (h == std::string::npos) return false;
  auto cl = d.find("content-length: ");
  if (cl == std::string::npos) return true;
  return d.size() - h - 4 >= std::stoul(d.substr(cl + 16));
}

std::string upgradeRequest(const std::string& auth) {
  return "GET /agent/v1/connect HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
         "Sec-WebSocket-Protocol: zlh.agent.v1\r\n" + auth + "\r\n";
}

/// A started server on a kernel-picked port; the handler answers on the lws thread.
class StartedServer {
 protected:
  void start(ServerOptions o, UpgradeAuthorizer decide) {
    o.port = 0;
    auto s = Server::start(o, [](std::function<void()> fn) { fn(); }, handler_, std::move(decide));
    ASSERT_TRUE(s.ok()) << s.error().message;
    server_ = std::move(*s);
    handler_.server = server_.get();
    ASSERT_GT(server_->port(), 0);
  }
  RecordingHandler handler_;
  std::unique_ptr<Server> server_;
};

class ServerTest : public ::testing::Test, protected StartedServer {
 protected:
  void SetUp() override {
    ServerOptions o;
    o.max_body_bytes = 1000;
    start(o, [](const UpgradeRequest& r) {
      UpgradeDecision d;
      d.accept = r.authorization == "Bearer good";
      d.context = "nd_1";
      d.refusal.status = 401;
      d.refusal.body = R"({"error":{"code":"unauthenticated","message":"no"}})";
      return d;
    });
  }
};

TEST_F(ServerTest, AnswersHttpWithBody) {
  int fd = connectTo(server_->port());
  std::string req = "POST /a/b?x=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nContent-Length: 5\r\n\r\nhello";
  ASSERT_EQ(::write(fd, req.data(), req.size()), static_cast<ssize_t>(req.size()));
  std::string resp = readUntil(fd, hasBody);
  ::close(fd);
  EXPECT_EQ(resp.rfind("HTTP/1.1 200", 0), 0u) << resp;
  EXPECT_NE(resp.find(R"({"path":"/a/b","len":5})"), std::string::npos) << resp;
  EXPECT_EQ(handler_.last_request.method, "POST");
  EXPECT_EQ(handler_.last_request.query, "x=1");
  EXPECT_EQ(handler_.last_request.headers["authorization"], "Bearer t");
  EXPECT_EQ(handler_.last_request.body, "hello");
  EXPECT_TRUE(handler_.local_answers.empty());
}

TEST_F(ServerTest, PassesAcceptEncodingAndWritesResponseHeaders) {
  handler_.extra_header = {"Content-Encoding", "gzip"};
  int fd = connectTo(server_->port());
  std::string req = "GET /m HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip, deflate\r\n\r\n";
  ASSERT_EQ(::write(fd, req.data(), req.size()), static_cast<ssize_t>(req.size()));
  std::string resp = readUntil(fd, hasBody);
  ::close(fd);
  EXPECT_EQ(handler_.last_request.headers["accept-encoding"], "gzip, deflate");
  std::string lower = resp;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_NE(lower.find("\r\ncontent-encoding: gzip\r\n"), std::string::npos) << resp;
}

TEST_F(ServerTest, OversizeBodyIs413) {
  int fd = connectTo(server_->port());
  std::string req = "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n";
  ASSERT_GT(::write(fd, req.data(), req.size()), 0);
  std::string resp = readUntil(fd, hasBody);
  ::close(fd);
  EXPECT_EQ(resp.rfind("HTTP/1.1 413", 0), 0u) << resp;
  EXPECT_NE(resp.find("payload_too_large"), std::string::npos);
  EXPECT_TRUE(handler_.waitFor([&] { return handler_.local_answers == std::vector<int>{413}; }));
}

TEST_F(ServerTest, ChunkedBodyIs411) {
  int fd = connectTo(server_->port());
  std::string req = "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
  ASSERT_GT(::write(fd, req.data(), req.size()), 0);
  std::string resp = readUntil(fd, hasBody);
  ::close(fd);
  EXPECT_EQ(resp.rfind("HTTP/1.1 411", 0), 0u) << resp;
  EXPECT_TRUE(handler_.waitFor([&] { return handler_.local_answers == std::vector<int>{411}; }));
}

TEST_F(ServerTest, RefusedUpgradeGetsARealStatus) {
  int fd = connectTo(server_->port());
  std::string req = upgradeRequest("Authorization: Bearer bad\r\n");
  ASSERT_GT(::write(fd, req.data(), req.size()), 0);
  std::string resp = readUntil(fd, hasBody);
  ::close(fd);
  EXPECT_EQ(resp.rfind("HTTP/1.1 401", 0), 0u) << resp;
  EXPECT_NE(resp.find(R"({"error":{"code":"unauthenticated","message":"no"}})"), std::string::npos);
}

TEST_F(ServerTest, WebSocketMessageAndCloseCode) {
  int fd = connectTo(server_->port());
  std::string req = upgradeRequest("Authorization: Bearer good\r\n");
  ASSERT_GT(::write(fd, req.data(), req.size()), 0);
  std::string resp = readUntil(fd, [](const std::string& d) { return d.find("\r\n\r\n") != std::string::npos; });
  ASSERT_EQ(resp.rfind("HTTP/1.1 101", 0), 0u) << resp;
  ASSERT_TRUE(handler_.waitFor([&] { return handler_.ws_conn != 0; }));
  EXPECT_EQ(handler_.ws_context, "nd_1");

  // A text message in two fragments, masked as a client must.
  auto frame = [](uint8_t op, bool fin, const std::string& payload) {
    std::string f;
    f.push_back(static_cast<char>((fin ? 0x80 : 0) | op));
    f.push_back(static_cast<char>(0x80 | payload.size()));
    const char mask[4] = {1, 2, 3, 4};
    f.append(mask, 4);
    for (size_t i = 0; i < payload.size(); ++i) f.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
    return f;
  };
  std::string frames = frame(0x1, false, "hel") + frame(0x0, true, "lo");
  ASSERT_GT(::write(fd, frames.data(), frames.size()), 0);
  ASSERT_TRUE(handler_.waitFor([&] { return !handler_.messages.empty(); }));
  EXPECT_EQ(handler_.messages[0], "hello");

  server_->sendText(handler_.ws_conn, "hi");
  server_->close(handler_.ws_conn, 4008, "replaced");
  std::string got = readUntil(fd, [](const std::string& d) { return d.find('\x88') != std::string::npos && d.size() >= 8; });
  ::close(fd);
  ASSERT_GE(got.size(), 4u);
  EXPECT_EQ(static_cast<uint8_t>(got[0]), 0x81);
  EXPECT_EQ(got.substr(2, 2), "hi");
  auto c = got.find('\x88');
  ASSERT_NE(c, std::string::npos);
  int code = (static_cast<uint8_t>(got[c + 2]) << 8) | static_cast<uint8_t>(got[c + 3]);
  EXPECT_EQ(code, 4008);
  EXPECT_TRUE(handler_.waitFor([&] { return handler_.closed; }));
}

/// Reads WebSocket messages (server frames: unmasked, maybe fragmented) until `bytes` payload
/// bytes arrived or readUntil's deadline passes; returns each message's payload.
std::vector<std::string> readMessages(int fd, size_t bytes) {
  std::vector<std::string> messages;
  std::string current;
  size_t got = 0, pos = 0;
  readUntil(fd, [&](const std::string& data) {
    for (;;) {  // every whole frame not parsed yet
      if (data.size() - pos < 2) break;
      const auto b0 = static_cast<uint8_t>(data[pos]), b1 = static_cast<uint8_t>(data[pos + 1]);
      size_t len = b1 & 0x7f, head = 2;
      if (len == 126) {
        if (data.size() - pos < 4) break;
        len = (size_t(uint8_t(data[pos + 2])) << 8) | uint8_t(data[pos + 3]);
        head = 4;
      } else if (len == 127) {
        if (data.size() - pos < 10) break;
        len = 0;
        for (int i = 2; i < 10; ++i) len = (len << 8) | uint8_t(data[pos + size_t(i)]);
        head = 10;
      }
      if (data.size() - pos < head + len) break;
      current.append(data, pos + head, len);
      got += len;
      pos += head + len;
      if (b0 & 0x80) messages.push_back(std::move(current)), current.clear();
    }
    return got >= bytes;
  });
  return messages;
}

// A console-like endpoint (binary_stream) joins the binary messages that queue behind a slow
// client; any other endpoint keeps every message as it was sent.
class JoinTest : public ::testing::TestWithParam<bool>, protected StartedServer {
 protected:
  void SetUp() override {
    ServerOptions o;
    o.endpoints = {{"/agent/v1/connect", "zlh.agent.v1", GetParam()}};
    start(o, [](const UpgradeRequest&) {
      UpgradeDecision d;
      d.accept = true;
      return d;
    });
  }
};

INSTANTIATE_TEST_SUITE_P(Endpoints, JoinTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "ByteStream" : "Messages"; });

TEST_P(JoinTest, BinaryMessagesQueuedBehindASlowClient) {
  int fd = connectTo(server_->port(), 4096);
  std::string req = upgradeRequest("");
  ASSERT_GT(::write(fd, req.data(), req.size()), 0);
  std::string resp = readUntil(fd, [](const std::string& d) { return d.find("\r\n\r\n") != std::string::npos; });
  ASSERT_EQ(resp.rfind("HTTP/1.1 101", 0), 0u) << resp;
  ASSERT_TRUE(handler_.waitFor([&] { return handler_.ws_conn != 0; }));

  constexpr int kMessages = 2000;  // 6 MB: more than the socket buffers can hold (4 MB at most)
  constexpr size_t kSize = 3000;
  std::string expected;
  for (int i = 0; i < kMessages; ++i) {
    std::string m(kSize, char('a' + i % 26));
    expected += m;
    server_->sendBinary(handler_.ws_conn, m);
  }
  auto messages = readMessages(fd, expected.size());
  ::close(fd);
  std::string got;
  for (const auto& m : messages) {
    EXPECT_LE(m.size(), 64u * 1024);
    got += m;
  }
  EXPECT_EQ(got.size(), expected.size());
  EXPECT_TRUE(got == expected) << "bytes out of order";
  // How many go out alone before the socket is full depends on the kernel's buffer sizing
  // (~250 here); everything after that is joined.
  if (GetParam())
    EXPECT_LT(messages.size(), size_t(kMessages) / 2) << "nothing was joined";
  else
    EXPECT_EQ(messages.size(), size_t(kMessages));
}

/// One WebSocket client over a raw socket: masked frames out, whole frames in (in order).
class WsPeer {
 public:
  /// Upgrades to `path` with `subprotocol`; fd < 0 when the answer was not 101.
  WsPeer(uint16_t port, const std::string& path, const std::string& subprotocol) {
    fd_ = connectTo(port);
    std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: " + subprotocol + "\r\n\r\n";
    EXPECT_GT(::write(fd_, req.data(), req.size()), 0);
    std::string head = readUntil(fd_, [](const std::string& d) { return d.find("\r\n\r\n") != std::string::npos; });
    EXPECT_EQ(head.rfind("HTTP/1.1 101", 0), 0u) << head;
    buf_ = head.substr(head.find("\r\n\r\n") + 4);  // a frame may have come with the answer
  }
  ~WsPeer() { ::close(fd_); }
  void send(uint8_t op, const std::string& payload) {
    std::string f(1, static_cast<char>(0x80 | op));
    if (payload.size() < 126) {
      f.push_back(static_cast<char>(0x80 | payload.size()));
    } else {
      f.push_back(static_cast<char>(0x80 | 126));
      f.push_back(static_cast<char>(payload.size() >> 8));
      f.push_back(static_cast<char>(payload.size() & 0xff));
    }
    const char mask[4] = {9, 8, 7, 6};
    f.append(mask, 4);
    for (size_t i = 0; i < payload.size(); ++i) f.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
    ASSERT_EQ(::write(fd_, f.data(), f.size()), static_cast<ssize_t>(f.size()));
  }
  void sendBinary(const std::string& payload) { send(0x2, payload); }
  /// The next whole frame {opcode, payload}; opcode 0 when none came within 5 s.
  std::pair<uint8_t, std::string> next() {
    std::pair<uint8_t, std::string> out{0, ""};
    std::string more = readUntil(fd_, [&](const std::string& d) {
      std::string all = buf_ + d;
      if (all.size() < 2) return false;
      size_t len = static_cast<uint8_t>(all[1]) & 0x7f, head = 2;
      if (len == 126) {
        if (all.size() < 4) return false;
        len = (size_t(uint8_t(all[2])) << 8) | uint8_t(all[3]);
        head = 4;
      }
      if (all.size() < head + len) return false;
      out = {static_cast<uint8_t>(all[0]) & 0x0f, all.substr(head, len)};
      buf_ = all.substr(head + len);
      return true;
    });
    return out;
  }

 private:
  int fd_ = -1;
  std::string buf_;
};

std::string streamFrame(uint32_t id, const std::string& payload) {
  std::string f = {char(id >> 24), char(id >> 16), char(id >> 8), char(id)};
  return f + payload;
}

// A console client spliced to a link's stream: bytes relayed both ways on the lws thread, input
// held until the stream is joined and within its credit, output credit granted back, other
// messages still reaching the handler, and the splice ended by a close.
class SpliceTest : public ::testing::Test, protected StartedServer {
 protected:
  void SetUp() override {
    ServerOptions o;
    o.endpoints = {{"/link", "zlh.agent.v1"}, {"/console", "zlh.console.v1", true}};
    start(o, [](const UpgradeRequest& r) {
      UpgradeDecision d;
      d.accept = true;
      d.context = r.endpoint;
      if (r.endpoint == "zlh.console.v1") d.splice = SpliceInput{100, 0x02};
      return d;
    });
  }
};

TEST_F(SpliceTest, RelaysBothWaysWithCredit) {
  WsPeer link(server_->port(), "/link", "zlh.agent.v1");
  WsPeer client(server_->port(), "/console", "zlh.console.v1");
  ASSERT_TRUE(handler_.waitFor([&] { return handler_.by_context.size() == 2; }));
  const ConnId link_id = handler_.by_context["zlh.agent.v1"];
  const ConnId client_id = handler_.by_context["zlh.console.v1"];
  constexpr uint32_t kStream = 7;

  // Input sent before the stream is joined waits for it, and then for the agent's credit.
  client.sendBinary(std::string("\0ab", 3));
  server_->splice(client_id, link_id, kStream, 1000);
  client.sendBinary("\x02");  // the local op: the application answers it
  ASSERT_TRUE(handler_.waitFor([&] { return handler_.messages.size() == 1; }));
  EXPECT_EQ(handler_.messages[0], "\x02");
  server_->spliceCredit(client_id, 3);
  auto m = link.next();
  EXPECT_EQ(m.first, 0x2);
  EXPECT_EQ(m.second, streamFrame(kStream, std::string("\0ab", 3)));
  ASSERT_TRUE(handler_.waitFor([&] { return !handler_.splice_inputs.empty(); }));
  EXPECT_EQ(handler_.splice_inputs[0], client_id);

  // Whole messages only: 2 bytes of credit hold a 3-byte message back, a third sends it.
  client.sendBinary(std::string("\0cd", 3));
  client.sendBinary("\x02");
  ASSERT_TRUE(handler_.waitFor([&] { return handler_.messages.size() == 2; }));
  server_->spliceCredit(client_id, 2);
  server_->spliceCredit(client_id, 1);
  m = link.next();
  EXPECT_EQ(m.second, streamFrame(kStream, std::string("\0cd", 3)));

  // Output: the payload reaches the client, and its credit goes back once written.
  link.sendBinary(streamFrame(kStream, "hello"));
  m = client.next();
  EXPECT_EQ(m.first, 0x2);
  EXPECT_EQ(m.second, "hello");
  m = link.next();
  EXPECT_EQ(m.first, 0x1);
  EXPECT_NE(m.second.find("\"type\":\"stream.credit\""), std::string::npos) << m.second;
  EXPECT_NE(m.second.find("\"bytes\":5"), std::string::npos) << m.second;
  EXPECT_NE(m.second.find("\"stream_id\":7"), std::string::npos) << m.second;

  // Another stream's frame is the application's.
  link.sendBinary(streamFrame(9, "other"));
  ASSERT_TRUE(handler_.waitFor([&] { return handler_.messages.size() == 3; }));
  EXPECT_EQ(handler_.messages[2], streamFrame(9, "other"));
  EXPECT_EQ(handler_.message_conns[2], link_id);

  // Without credit at most 100 bytes wait: a message past that is dropped, not queued.
  client.sendBinary(std::string(60, 'A'));
  client.sendBinary(std::string(60, 'B'));
  client.sendBinary(std::string(10, 'C'));
  client.sendBinary("\x02");  // read in order: once it is seen, so are the three above
  ASSERT_TRUE(handler_.waitFor([&] { return handler_.messages.size() == 4; }));
  server_->spliceCredit(client_id, 1000);
  EXPECT_EQ(link.next().second, streamFrame(kStream, std::string(60, 'A')));
  EXPECT_EQ(link.next().second, streamFrame(kStream, std::string(10, 'C')));

  // Text from the client is the application's too.
  client.send(0x1, "text");
  ASSERT_TRUE(handler_.waitFor([&] { return handler_.messages.size() == 5; }));
  EXPECT_EQ(handler_.messages[4], "text");

  // A close ends the splice: the stream's frames go to the application again.
  server_->close(client_id, 1000, "bye");
  EXPECT_EQ(client.next().first, 0x8);
  link.sendBinary(streamFrame(kStream, "late"));
  ASSERT_TRUE(handler_.waitFor([&] { return handler_.messages.size() == 6; }));
  EXPECT_EQ(handler_.messages[5], streamFrame(kStream, "late"));
}

}  // namespace
}  // namespace zlh::coordinator::net
