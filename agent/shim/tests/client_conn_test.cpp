#include "agent/shim/client_conn.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

namespace zlh::agent::shim {
namespace {

// A socketpair with small buffers; the test reads the far end.
class ClientConnTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds_), 0);
    int small = 4096;
    setsockopt(fds_[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    setsockopt(fds_[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  }
  void TearDown() override { ::close(fds_[1]); }

  // Reads every frame currently available on the far end.
  std::vector<Frame> drain() {
    std::vector<Frame> frames;
    char buf[65536];
    for (;;) {
      ssize_t n = ::recv(fds_[1], buf, sizeof(buf), MSG_DONTWAIT);
      if (n <= 0) break;
      decoder_.feed(std::string_view(buf, static_cast<size_t>(n)));
    }
    for (;;) {
      auto next = decoder_.next();
      if (!next.ok() || !next->has_value()) break;
      frames.push_back(std::move(**next));
    }
    return frames;
  }

  int fds_[2];
  FrameDecoder decoder_;
};

TEST_F(ClientConnTest, SlowClientGetsOneDroppedMarkerAndEveryByteIsAccounted) {
  ClientConn conn(fds_[0], 64 * 1024);
  std::string chunk(4096, 'x');
  uint64_t sent = 0;
  for (int i = 0; i < 200; ++i) {  // 800 KB into a 64 KB queue, nobody reading
    conn.queueOutput(chunk);
    sent += chunk.size();
    ASSERT_TRUE(conn.flush());
  }
  EXPECT_GT(conn.droppedTotal(), 0u);
  uint64_t received = 0, dropped = 0;
  int markers = 0;
  for (int round = 0; round < 1000 && conn.wantsWrite(); ++round) {
    for (auto& f : drain()) {
      if (f.type == FrameType::kOutput) received += f.payload.size();
      if (f.type == FrameType::kDropped) dropped += *parseDropped(f.payload), ++markers;
    }
    ASSERT_TRUE(conn.flush());
  }
  for (auto& f : drain()) {
    if (f.type == FrameType::kOutput) received += f.payload.size();
    if (f.type == FrameType::kDropped) dropped += *parseDropped(f.payload), ++markers;
  }
  EXPECT_EQ(markers, 1);
  EXPECT_EQ(received + dropped, sent);
  EXPECT_EQ(dropped, conn.droppedTotal());
}

TEST_F(ClientConnTest, ControlFramesAreNeverDroppedAndFollowTheMarker) {
  ClientConn conn(fds_[0], 16 * 1024);
  for (int i = 0; i < 20; ++i) conn.queueOutput(std::string(4096, 'y'));
  EXPECT_TRUE(conn.queueControl(FrameType::kExit, R"({"code":0})"));
  std::vector<Frame> frames;
  for (int round = 0; round < 1000 && conn.wantsWrite(); ++round) {
    ASSERT_TRUE(conn.flush());
    for (auto& f : drain()) frames.push_back(std::move(f));
  }
  for (auto& f : drain()) frames.push_back(std::move(f));
  ASSERT_GE(frames.size(), 2u);
  EXPECT_EQ(frames.back().type, FrameType::kExit);
  EXPECT_EQ(frames[frames.size() - 2].type, FrameType::kDropped);
}

TEST_F(ClientConnTest, OutputWaitingBehindTheSocketIsJoinedIntoFramesOfAtMostAChunk) {
  ClientConn conn(fds_[0], 1 << 20);
  // 100 pieces of 3,000 bytes queued before anything is written: frames of up to 64 KiB,
  // the bytes in order; a control frame ends the joining, output after it starts a new frame.
  std::string expected;
  for (int i = 0; i < 100; ++i) {
    std::string piece(3000, char('a' + i % 26));
    conn.queueOutput(piece);
    expected += piece;
  }
  EXPECT_TRUE(conn.queueControl(FrameType::kExit, R"({"code":0})"));
  conn.queueOutput("tail");
  expected += "tail";
  std::vector<Frame> frames;
  for (int round = 0; round < 10000 && conn.wantsWrite(); ++round) {
    ASSERT_TRUE(conn.flush());
    for (auto& f : drain()) frames.push_back(std::move(f));
  }
  for (auto& f : drain()) frames.push_back(std::move(f));
  std::string got;
  size_t outputs = 0, exit_at = 0;
  for (size_t i = 0; i < frames.size(); ++i) {
    if (frames[i].type == FrameType::kExit) exit_at = i;
    if (frames[i].type != FrameType::kOutput) continue;
    ++outputs;
    EXPECT_LE(frames[i].payload.size(), kOutputChunkBytes);
    got += frames[i].payload;
  }
  EXPECT_EQ(got, expected);
  EXPECT_EQ(outputs, 6u);  // 300,000 bytes: 4 full chunks of 21 pieces, 1 of 16, then "tail"
  ASSERT_EQ(frames.size(), 7u);
  EXPECT_EQ(exit_at, 5u);
  EXPECT_EQ(frames.back().payload, "tail");
}

TEST_F(ClientConnTest, FlushFailsWhenThePeerIsGone) {
  ClientConn conn(fds_[0]);
  ::close(fds_[1]);
  fds_[1] = ::dup(0);  // keep TearDown's close harmless
  conn.queueOutput("hello");
  EXPECT_FALSE(conn.flush());
}

}  // namespace
}  // namespace zlh::agent::shim
