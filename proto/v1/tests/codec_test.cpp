#include "proto/v1/codec.h"

#include <gtest/gtest.h>

#include <set>

#include "proto/v1/tests/samples.h"

namespace zlh::proto {
namespace {
using nlohmann::json;

constexpr const char* kReady =
    R"({"v":1,"type":"instance.ready","id":"m-1","ts":1767225600000,"body":{"instance_id":"i","state_version":1}})";

std::string verdict(std::string_view text, const Limits& limits = {}) {
  auto env = decode(text, limits);
  return env.ok() ? "ok" : std::string(toWire(env.error().kind));
}

// An envelope whose job.start params hold `levels` nested arrays around `inner`: the envelope,
// body and params objects are 3 levels, so the total nesting is levels + 3 (+1 if inner is a
// container).
std::string nested(int levels, const std::string& inner) {
  std::string s =
      R"({"v":1,"type":"job.start","id":"m","ts":1,"body":{"job_id":"j","kind":"k","params":{"x":)";
  s += std::string(levels, '[') + inner + std::string(levels, ']');
  return s + "}}}";
}

TEST(Codec, RoundTripsHello) {
  Hello h;
  h.node_id = "n1";
  h.agent_version = "0.1.0";
  auto text = encode(h);
  auto env = decode(text);
  ASSERT_TRUE(env.ok()) << env.error().message;
  EXPECT_EQ(env->type, "hello");
  EXPECT_EQ(env->v, 1);
  EXPECT_EQ(env->id.size(), 16u);
  auto back = bodyAs<Hello>(*env);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->node_id, "n1");
}

TEST(Codec, DecodesEnvelopeFields) {
  auto env = decode(kReady);
  ASSERT_TRUE(env.ok()) << env.error().message;
  EXPECT_EQ(env->type, "instance.ready");
  EXPECT_EQ(env->id, "m-1");
  EXPECT_EQ(env->ts, 1767225600000);
  EXPECT_EQ(env->body, json::parse(R"({"instance_id":"i","state_version":1})"));
}

// Every case of the shared table (also replayed against the JSON Schemas) gets its verdict.
TEST(Codec, SharedCasesGetTheirVerdict) {
  std::set<std::string> kinds;
  for (const auto& c : samples::cases()) {
    EXPECT_EQ(verdict(c.text), c.expect) << c.name << "\n" << c.text;
    kinds.insert(c.expect);
  }
  for (const char* k : {"ok", "malformed", "wrong_version", "unknown_type", "bad_shape"})
    EXPECT_TRUE(kinds.count(k)) << "no case expects " << k;
}

TEST(Codec, EverySampleDecodesAndEveryTypeHasOne) {
  std::set<std::string> types;
  for (const auto& s : samples::all()) {
    auto env = decode(s.text);
    ASSERT_TRUE(env.ok()) << s.type << "/" << s.variant << ": " << env.error().message;
    EXPECT_EQ(env->type, s.type);
    types.insert(s.type);
  }
  EXPECT_EQ(types, std::set<std::string>(knownTypes().begin(), knownTypes().end()));
  EXPECT_EQ(knownTypes().size(), 13u);
}

// Integers a JSON Schema cannot tell from valid ones once JavaScript has parsed them.
TEST(Codec, EnvelopeIntegersAreExact) {
  const auto ready = [](const std::string& v, const std::string& ts) {
    return R"({"v":)" + v + R"(,"type":"instance.ready","id":"m","ts":)" + ts +
           R"(,"body":{"instance_id":"i","state_version":1}})";
  };
  EXPECT_EQ(verdict(ready("1", "1")), "ok");
  EXPECT_EQ(verdict(ready("1.0", "1")), "malformed");
  EXPECT_EQ(verdict(ready("1e0", "1")), "malformed");
  EXPECT_EQ(verdict(ready("18446744073709551617", "1")), "malformed");  // parses as a float
  EXPECT_EQ(verdict(ready("18446744073709551615", "1")), "wrong_version");
  EXPECT_EQ(verdict(ready("4294967297", "1")), "wrong_version");  // 1 + 2^32 must not wrap to 1
  EXPECT_EQ(verdict(ready("1", "1.0")), "malformed");
  EXPECT_EQ(verdict(ready("1", "9223372036854775807")), "ok");
  EXPECT_EQ(verdict(ready("1", "-9223372036854775808")), "ok");
  EXPECT_EQ(verdict(ready("1", "9223372036854775808")), "malformed");  // used to wrap negative
  EXPECT_EQ(verdict(ready("1", "18446744073709551615")), "malformed");
  auto env = decode(ready("1", "9223372036854775807"));
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->ts, INT64_MAX);
}

TEST(Codec, OversizeAtExactlyLimitPlusOne) {
  const std::string base = kReady;
  Limits limits;
  limits.max_message_bytes = base.size();
  EXPECT_EQ(verdict(base, limits), "ok");
  EXPECT_EQ(verdict(base + " ", limits), "oversize");
  // The default limit, 1 MiB, with padding inside a string.
  const std::string head =
      R"({"v":1,"type":"error","id":"m","ts":1,"body":{"code":"x","message":")";
  const std::string tail = R"("}})";
  const std::string exact = head + std::string((1 << 20) - head.size() - tail.size(), 'a') + tail;
  ASSERT_EQ(exact.size(), 1u << 20);
  EXPECT_EQ(verdict(exact), "ok");
  const std::string over =
      head + std::string((1 << 20) + 1 - head.size() - tail.size(), 'a') + tail;
  EXPECT_EQ(verdict(over), "oversize");
  // Oversize is decided before parsing: garbage of that size is still "oversize".
  EXPECT_EQ(verdict(std::string((1 << 20) + 1, '[')), "oversize");
}

TEST(Codec, DepthLimitCountsEveryContainer) {
  // 32 levels pass, 33 are refused, whether the innermost container is empty or not.
  EXPECT_EQ(verdict(nested(29, "")), "ok");          // 32 levels, innermost []
  EXPECT_EQ(verdict(nested(29, "1")), "ok");         // 32 levels, a scalar inside
  EXPECT_EQ(verdict(nested(28, "{}")), "ok");        // 32 levels, innermost {}
  EXPECT_EQ(verdict(nested(30, "")), "too_deep");    // 33 levels, innermost [] (was accepted)
  EXPECT_EQ(verdict(nested(29, "{}")), "too_deep");  // 33 levels, innermost {} (was accepted)
  EXPECT_EQ(verdict(nested(29, "{\"a\":1}")), "too_deep");
  EXPECT_EQ(verdict(nested(30, "1")), "too_deep");
}

TEST(Codec, DepthLimitIsConfigurable) {
  Limits limits;
  limits.max_depth = 2;  // envelope + body
  EXPECT_EQ(
      verdict(R"({"v":1,"type":"stream.credit","id":"m","ts":1,"body":{"stream_id":1,"bytes":2}})",
              limits),
      "ok");
  EXPECT_EQ(
      verdict(
          R"({"v":1,"type":"stream.credit","id":"m","ts":1,"body":{"stream_id":1,"bytes":2,"x":[]}})",
          limits),
      "too_deep");
  limits.max_depth = 1;
  EXPECT_EQ(verdict(R"({"v":1,"type":"stream.credit","id":"m","ts":1,"body":{}})", limits),
            "too_deep");
}

TEST(Codec, DepthBombIsRefusedWithoutCrashing) {
  EXPECT_EQ(verdict(std::string(500000, '[') + std::string(500000, ']')), "too_deep");
  EXPECT_EQ(verdict(std::string(1 << 20, '[')), "too_deep");
  EXPECT_EQ(verdict("{\"a\":" + std::string(100000, '[')), "too_deep");
}

TEST(Codec, RefIsTheEnvelopeIdWhenValid) {
  auto bad = decode(R"({"v":2,"type":"hello","id":"abc","ts":1,"body":{}})");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().ref, "abc");
  auto shape = decode(R"({"v":1,"type":"hello","id":"abc","ts":1,"body":{}})");
  ASSERT_FALSE(shape.ok());
  EXPECT_EQ(shape.error().kind, DecodeErrorKind::kBadShape);
  EXPECT_EQ(shape.error().ref, "abc");
  // A too long id is not echoed back.
  auto longId = decode(R"({"v":2,"type":"hello","id":")" + std::string(100000, 'x') +
                       R"(","ts":1,"body":{}})");
  ASSERT_FALSE(longId.ok());
  EXPECT_EQ(longId.error().ref, "");
  auto numId = decode(R"({"v":1,"type":"hello","id":5,"ts":1,"body":{}})");
  ASSERT_FALSE(numId.ok());
  EXPECT_EQ(numId.error().ref, "");
}

TEST(Codec, ErrorMessagesAreBounded) {
  // nlohmann quotes the offending token; an unterminated 500 KB string must not come back whole.
  auto env = decode(R"({"v":1,"type":"hello","id":"m","ts":1,"body":{"x":")" +
                    std::string(500000, 'a') + "\x01\"}}");
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.error().kind, DecodeErrorKind::kMalformed);
  EXPECT_LE(env.error().message.size(), kMaxDecodeMessageBytes);
  // Truncation keeps UTF-8 whole: the unknown type is quoted up to 64 bytes, bad_shape messages in
  // full but bounded.
  auto type =
      decode(R"({"v":1,"type":")" + std::string(1000, 'x') + R"(","id":"m","ts":1,"body":{}})");
  ASSERT_FALSE(type.ok());
  EXPECT_LE(type.error().message.size(), kMaxDecodeMessageBytes);
  std::string accents;
  for (int i = 0; i < 400; ++i) accents += "\xc3\xa9";  // é
  auto utf = decode("{\"v\":1,\"type\":\"hello\",\"id\":\"m\",\"ts\":1,\"body\":{\"x\":\"" +
                    accents + "\x01\"}}");
  ASSERT_FALSE(utf.ok());
  const auto& msg = utf.error().message;
  EXPECT_LE(msg.size(), kMaxDecodeMessageBytes);
  const auto dumped = json(msg).dump(-1, ' ', true, json::error_handler_t::replace);
  EXPECT_EQ(dumped.find("\\ufffd"), std::string::npos) << "cut inside a character: " << dumped;
}

TEST(Codec, ProtocolErrorFromDecodeError) {
  auto env = decode(R"({"v":1,"type":"nope","id":"m-9","ts":1,"body":{}})");
  ASSERT_FALSE(env.ok());
  ProtocolError pe = toProtocolError(env.error());
  EXPECT_EQ(pe.code, "unknown_type");
  EXPECT_EQ(pe.ref, "m-9");
  EXPECT_NE(pe.message.find("nope"), std::string::npos);
  auto noRef = toProtocolError(DecodeError{DecodeErrorKind::kMalformed, "x", ""});
  EXPECT_FALSE(noRef.ref.has_value());
  // The error message itself is a valid envelope.
  auto back = decode(encode(pe));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->type, "error");
}

TEST(Codec, DecodeErrorWireNames) {
  EXPECT_EQ(toWire(DecodeErrorKind::kMalformed), "malformed");
  EXPECT_EQ(toWire(DecodeErrorKind::kUnknownType), "unknown_type");
  EXPECT_EQ(toWire(DecodeErrorKind::kWrongVersion), "wrong_version");
  EXPECT_EQ(toWire(DecodeErrorKind::kOversize), "oversize");
  EXPECT_EQ(toWire(DecodeErrorKind::kTooDeep), "too_deep");
  EXPECT_EQ(toWire(DecodeErrorKind::kBadShape), "bad_shape");
}

TEST(Codec, MessageIdsAreFreshHex) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    auto id = newMessageId();
    ASSERT_EQ(id.size(), 16u);
    ASSERT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 1000u);
  EXPECT_GT(nowUnixMs(), 1700000000000);  // after 2023: milliseconds, not seconds
}

TEST(Codec, EncodeKeepsAGivenIdAndStampsTs) {
  const int64_t before = nowUnixMs();
  auto env = decode(encode(StreamCredit{3, 4}, "given-id"));
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->id, "given-id");
  EXPECT_GE(env->ts, before);
  EXPECT_LE(env->ts, nowUnixMs());
}

TEST(Codec, EncodeReplacesInvalidUtf8) {
  ProtocolError pe{"x", std::string("bad \xff byte"), std::nullopt};
  auto env = decode(encode(pe));
  ASSERT_TRUE(env.ok()) << env.error().message;
}

}  // namespace
}  // namespace zlh::proto
