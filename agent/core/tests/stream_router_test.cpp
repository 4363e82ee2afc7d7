// Link streams on the agent side: open/refuse, credit-bounded output, input window, close after
// the queue drains, peer close and link loss, and handlers destroyed only after their own calls.
#include "agent/core/streams/stream_router.h"

#include <gtest/gtest.h>

#include <deque>

#include "proto/v1/codec.h"
#include "proto/v1/stream_frame.h"

namespace zlh::agent::core {
namespace {
using nlohmann::json;

struct Recorder {
  std::vector<json> texts;
  std::vector<std::pair<uint32_t, std::string>> frames;
  std::deque<sdk::Task> posted;
  std::vector<json> ofType(const std::string& type) const {
    std::vector<json> out;
    for (const auto& t : texts)
      if (t["type"] == type) out.push_back(t["body"]);
    return out;
  }
  size_t bytesOn(uint32_t id) const {
    size_t n = 0;
    for (const auto& [i, p] : frames)
      if (i == id) n += p.size();
    return n;
  }
  void runPosted() {
    while (!posted.empty()) {
      auto t = std::move(posted.front());
      posted.pop_front();
      t();
    }
  }
};

struct EchoHandler : sdk::StreamHandler {
  std::shared_ptr<sdk::StreamChannel> channel;
  std::string input;
  int closed = 0;
  bool* destroyed = nullptr;
  bool close_on_input = false;
  ~EchoHandler() override {
    if (destroyed) *destroyed = true;
  }
  void onData(std::string_view bytes) override {
    input.append(bytes);
    if (close_on_input) channel->close(std::nullopt);  // from inside the handler's own call
  }
  void onClosed() override { ++closed; }
  void onWritable() override { ++writable; }
  int writable = 0;
};

class StreamRouterTest : public ::testing::Test {
 protected:
  StreamRouter router_{StreamRouter::Output{
                           [this](std::string t) { rec_.texts.push_back(json::parse(t)); },
                           [this](std::string b) {
                             auto f = proto::decodeStreamFrame(b);
                             ASSERT_TRUE(f);
                             rec_.frames.emplace_back(f->stream_id, std::string(f->payload));
                           },
                           [this](sdk::Task t) { rec_.posted.push_back(std::move(t)); }},
                       [this](const sdk::StreamRequest& r, std::shared_ptr<sdk::StreamChannel> c)
                           -> sdk::Result<std::unique_ptr<sdk::StreamHandler>> {
                         if (r.kind != "echo")
                           return sdk::makeError(sdk::ErrorCode::kUnimplemented, "no " + r.kind);
                         auto h = std::make_unique<EchoHandler>();
                         h->channel = c;
                         h->destroyed = &destroyed_;
                         last_ = h.get();
                         channels_.push_back(c);
                         return std::unique_ptr<sdk::StreamHandler>(std::move(h));
                       }};
  void open(uint32_t id, uint64_t credit, const std::string& kind = "echo") {
    router_.onOpen(proto::StreamOpen{id, kind, "i1", json::object(), credit});
  }
  Recorder rec_;
  EchoHandler* last_ = nullptr;
  bool destroyed_ = false;
  std::vector<std::shared_ptr<sdk::StreamChannel>> channels_;
};

TEST_F(StreamRouterTest, UnknownKindAndDuplicateIdsAreRefusedWithAClose) {
  open(1, 100, "nope");
  auto closes = rec_.ofType("stream.close");
  ASSERT_EQ(closes.size(), 1u);
  EXPECT_EQ(closes[0]["stream_id"], 1);
  EXPECT_EQ(closes[0]["error"]["code"], "unimplemented");
  EXPECT_EQ(router_.openStreams(), 0u);
  open(2, 100);
  ASSERT_EQ(rec_.ofType("stream.credit").size(), 1u);  // accepted: our input window
  EXPECT_EQ(rec_.ofType("stream.credit")[0]["bytes"], StreamRouter::kInputWindow);
  open(2, 100);
  EXPECT_EQ(rec_.ofType("stream.close").back()["error"]["code"], "conflict");
  EXPECT_EQ(router_.openStreams(), 1u);
}

TEST_F(StreamRouterTest, OutputNeverExceedsTheGrantedCreditAndTheQueueIsBounded) {
  open(7, 1000);
  auto& ch = *channels_.back();
  EXPECT_TRUE(ch.write(std::string(3000, 'a')));
  EXPECT_EQ(rec_.bytesOn(7), 1000u);  // only what was granted
  EXPECT_EQ(ch.queued(), 2000u);
  router_.onCredit(proto::StreamCredit{7, 1500});
  EXPECT_EQ(rec_.bytesOn(7), 2500u);
  EXPECT_EQ(last_->writable, 0);  // still queued: not writable yet
  // The queue holds at most kStreamQueueBytes; past that writes are refused, not buffered.
  EXPECT_TRUE(ch.write(std::string(sdk::kStreamQueueBytes - ch.queued(), 'b')));
  EXPECT_FALSE(ch.write("c"));
  router_.onCredit(proto::StreamCredit{7, uint64_t{1} << 62});  // huge grants saturate
  EXPECT_EQ(ch.queued(), 0u);
  EXPECT_EQ(last_->writable, 1);  // the queue drained: the handler may write again
  for (const auto& [id, p] : rec_.frames) EXPECT_LE(p.size(), proto::kMaxStreamPayloadBytes);
  EXPECT_TRUE(ch.write("d"));
  EXPECT_EQ(rec_.frames.back().second, "d");
}

TEST_F(StreamRouterTest, CloseWaitsForTheQueueThenSendsStreamClose) {
  open(3, 4);
  auto ch = channels_.back();
  ch->write("hello world");
  ch->close(std::nullopt);
  EXPECT_FALSE(ch->write("more"));  // closing: nothing new
  EXPECT_TRUE(rec_.ofType("stream.close").empty());
  router_.onCredit(proto::StreamCredit{3, 100});
  std::string all;
  for (const auto& [id, p] : rec_.frames) all += p;
  EXPECT_EQ(all, "hello world");  // the last byte before the close arrives
  ASSERT_EQ(rec_.ofType("stream.close").size(), 1u);
  EXPECT_FALSE(rec_.ofType("stream.close")[0].contains("error"));
  EXPECT_EQ(router_.openStreams(), 0u);
  EXPECT_EQ(last_->closed, 0);  // it closed itself: no onClosed
  EXPECT_FALSE(destroyed_);
  rec_.runPosted();
  EXPECT_TRUE(destroyed_);
}

TEST_F(StreamRouterTest, InputIsWindowedAndRegranted) {
  open(4, 0);
  std::string half(StreamRouter::kInputWindow / 2, 'x');
  ASSERT_TRUE(router_.onBinary(proto::encodeStreamFrame(4, half)).ok());
  EXPECT_EQ(last_->input.size(), half.size());
  auto credits = rec_.ofType("stream.credit");
  ASSERT_EQ(credits.size(), 2u);  // the open's window, then a re-grant of what was consumed
  EXPECT_EQ(credits[1]["bytes"], half.size());
  // A peer that sends past the window (30,000 consumed, not yet re-granted: 35,536 left) gets its
  // stream closed.
  ASSERT_TRUE(router_.onBinary(proto::encodeStreamFrame(4, std::string(30000, 'y'))).ok());
  EXPECT_EQ(rec_.ofType("stream.credit").size(), 2u);
  ASSERT_TRUE(router_.onBinary(proto::encodeStreamFrame(4, std::string(40000, 'z'))).ok());
  auto closes = rec_.ofType("stream.close");
  ASSERT_EQ(closes.size(), 1u);
  EXPECT_EQ(closes[0]["error"]["code"], "invalid_argument");
  EXPECT_EQ(router_.openStreams(), 0u);
  EXPECT_EQ(last_->closed, 1);
  // Frames for streams that are gone are ignored; garbage is an error for the link to count.
  EXPECT_TRUE(router_.onBinary(proto::encodeStreamFrame(99, "late")).ok());
  EXPECT_FALSE(router_.onBinary("ab").ok());
}

TEST_F(StreamRouterTest, PeerCloseAndLinkLossEndEveryStream) {
  open(5, 10);
  auto* five = last_;
  open(6, 10);
  auto* six = last_;
  router_.onClose(proto::StreamClose{6, std::nullopt});
  EXPECT_EQ(six->closed, 1);
  EXPECT_EQ(five->closed, 0);
  EXPECT_TRUE(channels_[1]->ended());
  EXPECT_FALSE(channels_[1]->write("x"));
  router_.closeAll();
  EXPECT_EQ(router_.openStreams(), 0u);
  EXPECT_TRUE(channels_[0]->ended());
  EXPECT_EQ(five->closed, 1);
  EXPECT_TRUE(rec_.ofType("stream.close").empty());  // nothing sent on a dead link
}

TEST_F(StreamRouterTest, AHandlerClosingFromItsOwnCallIsDestroyedLater) {
  open(8, 100);
  last_->close_on_input = true;
  ASSERT_TRUE(router_.onBinary(proto::encodeStreamFrame(8, "q")).ok());
  EXPECT_EQ(router_.openStreams(), 0u);
  EXPECT_FALSE(destroyed_);
  rec_.runPosted();
  EXPECT_TRUE(destroyed_);
}

}  // namespace
}  // namespace zlh::agent::core
