#include "agent/shim/shim_protocol.h"

#include <gtest/gtest.h>
#include <signal.h>

namespace zlh::agent::shim {
namespace {

TEST(ShimProtocol, RoundTripsEveryType) {
  for (uint8_t t : {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86}) {
    auto type = static_cast<FrameType>(t);
    std::string payload = "payload \x00\xff bytes";
    auto encoded = encodeFrame(type, payload);
    ASSERT_TRUE(encoded.ok());
    EXPECT_EQ(encoded->size(), kFrameHeaderBytes + payload.size());
    auto decoded = decodeFrame(*encoded);
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    EXPECT_EQ(decoded->type, type);
    EXPECT_EQ(decoded->payload, payload);
    EXPECT_NE(frameTypeName(type), "UNKNOWN");
  }
}

TEST(ShimProtocol, HeaderIsTypeThenBigEndianLength) {
  auto encoded = encodeFrame(FrameType::kOutput, std::string(0x010203, 'x'));
  ASSERT_TRUE(encoded.ok());
  EXPECT_EQ(static_cast<uint8_t>((*encoded)[0]), 0x81);
  EXPECT_EQ((*encoded)[1], 0x00);
  EXPECT_EQ((*encoded)[2], 0x01);
  EXPECT_EQ((*encoded)[3], 0x02);
  EXPECT_EQ((*encoded)[4], 0x03);
}

TEST(ShimProtocol, MaxPayloadPassesOneMoreFails) {
  EXPECT_TRUE(encodeFrame(FrameType::kInput, std::string(kMaxFramePayloadBytes, 'a')).ok());
  auto over = encodeFrame(FrameType::kInput, std::string(kMaxFramePayloadBytes + 1, 'a'));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, ErrorCode::kInvalidArgument);
}

TEST(ShimProtocol, DecoderRejectsOversizeLengthFromHeaderAlone) {
  std::string header = {0x02, 0x00, 0x10, 0x00, 0x01};  // 1 MiB + 1
  FrameDecoder decoder;
  decoder.feed(header);
  auto next = decoder.next();
  ASSERT_FALSE(next.ok());
  EXPECT_NE(next.error().message.find("exceeds"), std::string::npos);
  EXPECT_FALSE(decoder.next().ok()) << "errors are sticky";
}

TEST(ShimProtocol, DecoderRejectsUnknownType) {
  FrameDecoder decoder;
  decoder.feed(std::string("\x07\x00\x00\x00\x00", 5));
  EXPECT_FALSE(decoder.next().ok());
  EXPECT_FALSE(decodeFrame(std::string("\x80\x00\x00\x00\x00", 5)).ok());
}

TEST(ShimProtocol, TruncatedAndTrailingAreErrorsForWholeFrames) {
  auto encoded = *encodeFrame(FrameType::kInput, "hello");
  EXPECT_FALSE(decodeFrame(encoded.substr(0, 3)).ok());
  EXPECT_FALSE(decodeFrame(encoded.substr(0, encoded.size() - 1)).ok());
  EXPECT_FALSE(decodeFrame(encoded + "x").ok());
  EXPECT_FALSE(decodeFrame("").ok());
}

TEST(ShimProtocol, DecoderReassemblesByteByByte) {
  std::string stream = *encodeFrame(FrameType::kInput, "abc") +
                       *encodeFrame(FrameType::kStatus, "") +
                       *encodeFrame(FrameType::kResize, resizePayload(80, 24));
  FrameDecoder decoder;
  std::vector<Frame> frames;
  for (char c : stream) {
    decoder.feed(std::string_view(&c, 1));
    for (;;) {
      auto next = decoder.next();
      ASSERT_TRUE(next.ok());
      if (!next->has_value()) break;
      frames.push_back(std::move(**next));
    }
  }
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].payload, "abc");
  EXPECT_EQ(frames[1].type, FrameType::kStatus);
  EXPECT_EQ(frames[2].type, FrameType::kResize);
  EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(ShimProtocol, ClientTypesHaveHighBitClear) {
  EXPECT_TRUE(isClientFrameType(FrameType::kAttach));
  EXPECT_TRUE(isClientFrameType(FrameType::kDetach));
  EXPECT_FALSE(isClientFrameType(FrameType::kOutput));
  EXPECT_FALSE(isClientFrameType(FrameType::kError));
}

TEST(ShimProtocol, ResizePayload) {
  auto r = parseResize(resizePayload(132, 43));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->cols, 132);
  EXPECT_EQ(r->rows, 43);
  EXPECT_FALSE(parseResize(R"({"cols":0,"rows":10})").ok());
  EXPECT_FALSE(parseResize(R"({"cols":10001,"rows":10})").ok());
  EXPECT_FALSE(parseResize(R"({"cols":"80","rows":10})").ok());
  EXPECT_FALSE(parseResize(R"({"cols":80})").ok());
  EXPECT_FALSE(parseResize("not json").ok());
}

TEST(ShimProtocol, SignalPayloadNamesAndNumbers) {
  EXPECT_EQ(*parseSignal(signalPayload("TERM")), SIGTERM);
  EXPECT_EQ(*parseSignal(signalPayload("SIGKILL")), SIGKILL);
  EXPECT_EQ(*parseSignal(signalPayload("int")), SIGINT);
  EXPECT_EQ(*parseSignal(signalPayload("9")), 9);
  EXPECT_EQ(*parseSignal(R"({"signal":"CONT"})"), SIGCONT);
  EXPECT_FALSE(parseSignal(R"({"signal":"NOPE"})").ok());
  EXPECT_FALSE(parseSignal(R"({"signal":0})").ok());
  EXPECT_FALSE(parseSignal(R"({"signal":1000})").ok());
  EXPECT_FALSE(parseSignal(R"({"signal":true})").ok());
  EXPECT_FALSE(parseSignal(R"({})").ok());
  EXPECT_EQ(signalName(SIGKILL), "KILL");
  EXPECT_EQ(signalName(SIGHUP), "HUP");
}

TEST(ShimProtocol, AttachDroppedAndErrorPayloads) {
  EXPECT_TRUE(*parseAttach(attachPayload(true)));
  EXPECT_FALSE(*parseAttach(attachPayload(false)));
  EXPECT_TRUE(*parseAttach(""));
  EXPECT_FALSE(parseAttach(R"({"replay":1})").ok());
  EXPECT_EQ(*parseDropped(droppedPayload(12345)), 12345u);
  EXPECT_FALSE(parseDropped(R"({"bytes":-1})").ok());
  auto err = parseErrorPayload(errorPayload(Error{ErrorCode::kFailedPrecondition, "nope"}));
  EXPECT_EQ(err.code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(err.message, "nope");
  EXPECT_EQ(parseErrorPayload("garbage").code, ErrorCode::kInternal);
}

TEST(ShimProtocol, DumpJsonReplacesInvalidUtf8) {
  nlohmann::json j = {{"line", std::string("bad \xff\xfe utf8")}};
  EXPECT_NO_THROW((void)dumpJson(j));
}

}  // namespace
}  // namespace zlh::agent::shim
