#include "proto/v1/messages.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "proto/v1/codec.h"
#include "proto/v1/tests/samples.h"

namespace zlh::proto {
namespace {
using nlohmann::json;

// Encodes msg, decodes the text and converts the body back.
template <class T>
T roundTrip(const T& msg) {
  auto env = decode(encode(msg));
  EXPECT_TRUE(env.ok()) << (env.ok() ? "" : env.error().message);
  if (!env.ok()) return T{};
  EXPECT_EQ(env->type, T::kType);
  auto back = bodyAs<T>(*env);
  EXPECT_TRUE(back.ok()) << (back.ok() ? "" : back.error().message);
  if (!back.ok()) return T{};
  EXPECT_EQ(json(*back), json(msg)) << T::kType;
  return *back;
}

template <class T>
std::string shapeOf(const json& body) {
  Envelope env;
  env.type = T::kType;
  env.id = "m";
  env.body = body;
  auto r = decode(encodeEnvelope(env));
  return r.ok() ? "ok" : std::string(toWire(r.error().kind));
}

TEST(Messages, EverySampleReencodesIdentically) {
  for (const auto& s : samples::all()) {
    auto env = decode(s.text);
    ASSERT_TRUE(env.ok()) << s.type;
    EXPECT_EQ(encodeEnvelope(*env), s.text) << "decode/encode changed " << s.type;
  }
}

TEST(Messages, HelloRoundTrip) {
  Hello h;
  h.node_id = "node-1";
  h.agent_version = "1.2.3";
  h.protocols = {1, 2};
  h.plugins = {{"system", "running", {"system.ping"}}, {"backup", "failed", {}}};
  h.capacity = {8, UINT64_MAX, 0};
  h.metrics_url = "http://127.0.0.1:7421/metrics";
  h.instances = {{"i-1", "minecraft-java", "running", UINT64_MAX}};
  auto back = roundTrip(h);
  EXPECT_EQ(back.protocols, (std::vector<int>{1, 2}));
  ASSERT_EQ(back.plugins.size(), 2u);
  EXPECT_EQ(back.plugins[0].job_kinds, std::vector<std::string>{"system.ping"});
  EXPECT_EQ(back.capacity.memory_bytes, UINT64_MAX);
  ASSERT_EQ(back.instances.size(), 1u);
  EXPECT_EQ(back.instances[0].template_name, "minecraft-java");
  EXPECT_EQ(json(h)["instances"][0].count("template"), 1u);  // wire name is "template"
}

TEST(Messages, WelcomeRoundTripAndDefault) {
  auto back = roundTrip(Welcome{"n", "0.1.0", 1, 5});
  EXPECT_EQ(back.ping_interval_s, 5u);
  auto env = decode(
      R"({"v":1,"type":"welcome","id":"m","ts":1,"body":{"node_id":"n","coordinator_version":"c","protocol":1}})");
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(bodyAs<Welcome>(*env)->ping_interval_s, 20u);
}

TEST(Messages, JobStartRoundTrip) {
  JobStart j{"job-1", "backup.create", "i-1", {{"keep", 3}}, INT64_MAX};
  auto back = roundTrip(j);
  EXPECT_EQ(back.instance_id, "i-1");
  EXPECT_EQ(back.deadline_ms, INT64_MAX);
  auto none = roundTrip(JobStart{"j", "k", std::nullopt, json::object(), 0});
  EXPECT_FALSE(none.instance_id.has_value());
  EXPECT_TRUE(none.params.is_object());
  EXPECT_EQ(none.deadline_ms, 0);
  EXPECT_FALSE(json(none).contains("instance_id"));
}

TEST(Messages, JobProgressRoundTrip) {
  EXPECT_EQ(roundTrip(JobProgress{"j", 99.5, "x"}).percent, 99.5);
  EXPECT_FALSE(roundTrip(JobProgress{"j", std::nullopt, ""}).percent.has_value());
}

TEST(Messages, JobDoneRoundTrip) {
  auto ok = roundTrip(JobDone{"j", json{{"a", 1}}, std::nullopt, false});
  EXPECT_EQ(ok.result, json({{"a", 1}}));
  EXPECT_FALSE(ok.error.has_value());
  auto failed = roundTrip(JobDone{"j", std::nullopt, Error{ErrorCode::kConflict, "busy"}, true});
  ASSERT_TRUE(failed.error.has_value());
  EXPECT_EQ(failed.error->code, ErrorCode::kConflict);
  EXPECT_EQ(failed.error->message, "busy");
  EXPECT_TRUE(failed.redelivered);
  EXPECT_FALSE(failed.result.has_value());
}

TEST(Messages, JobDoneWithoutResultOrWithNullResultEncodesAnEmptyObject) {
  // Both used to be encoded as {"result":null}, which the decoder refuses (neither).
  for (const auto& result : {std::optional<json>{}, std::optional<json>{json(nullptr)}}) {
    JobDone d{"j", result, std::nullopt, false};
    auto env = decode(encode(d));
    ASSERT_TRUE(env.ok()) << env.error().message;
    EXPECT_EQ(env->body["result"], json::object());
  }
}

TEST(Messages, InstanceEventsRoundTrip) {
  EXPECT_EQ(roundTrip(InstanceState{"i", "crashed", 3, "exit 1"}).reason, "exit 1");
  EXPECT_FALSE(roundTrip(InstanceState{"i", "running", 4, std::nullopt}).reason.has_value());
  EXPECT_EQ(roundTrip(InstanceReady{"i", 5}).state_version, 5u);
  EXPECT_EQ(roundTrip(InstanceCrashed{"i", 6, {{"code", 137}, {"oom", true}}}).exit["code"], 137);
  EXPECT_FALSE(roundTrip(InstanceUnresponsive{"i", 7, false}).unresponsive);
}

TEST(Messages, StreamMessagesRoundTrip) {
  auto open = roundTrip(StreamOpen{UINT32_MAX, "console", "i", {{"cols", 80}}, UINT64_MAX});
  EXPECT_EQ(open.stream_id, UINT32_MAX);
  EXPECT_EQ(open.initial_credit, UINT64_MAX);
  EXPECT_EQ(roundTrip(StreamClose{2, Error{ErrorCode::kUnavailable, "gone"}}).error->code,
            ErrorCode::kUnavailable);
  EXPECT_FALSE(roundTrip(StreamClose{2, std::nullopt}).error.has_value());
  EXPECT_EQ(roundTrip(StreamCredit{2, 65536}).bytes, 65536u);
}

TEST(Messages, ProtocolErrorRoundTrip) {
  EXPECT_EQ(roundTrip(ProtocolError{"bad_shape", "m", "r-1"}).ref, "r-1");
  EXPECT_FALSE(roundTrip(ProtocolError{"bad_shape", "m", std::nullopt}).ref.has_value());
}

// Integers that a JSON Schema cannot distinguish after JavaScript parsing, checked here.
TEST(Messages, IntegersMustBeExact) {
  const auto credit = [](const std::string& bytes) {
    return json::parse(R"({"stream_id":1,"bytes":)" + bytes + "}");
  };
  EXPECT_EQ(shapeOf<StreamCredit>(credit("18446744073709551615")), "ok");
  EXPECT_EQ(shapeOf<StreamCredit>(credit("1.0")), "bad_shape");
  EXPECT_EQ(shapeOf<StreamCredit>(credit("1e3")), "bad_shape");
  EXPECT_EQ(shapeOf<StreamCredit>(credit("-0")), "ok");
  auto decoded = decode(
      R"({"v":1,"type":"stream.credit","id":"m","ts":1,"body":{"stream_id":1,"bytes":18446744073709551616}})");
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().kind, DecodeErrorKind::kBadShape);
  const auto job = [](const std::string& deadline) {
    return json::parse(R"({"job_id":"j","kind":"k","deadline_ms":)" + deadline + "}");
  };
  EXPECT_EQ(shapeOf<JobStart>(job("9223372036854775807")), "ok");
  EXPECT_EQ(shapeOf<JobStart>(job("9223372036854775808")), "bad_shape");   // used to wrap to < 0
  EXPECT_EQ(shapeOf<JobStart>(job("18446744073709551615")), "bad_shape");  // used to become -1
  const auto welcome = [](const std::string& protocol) {
    return json::parse(R"({"node_id":"n","coordinator_version":"c","protocol":)" + protocol + "}");
  };
  EXPECT_EQ(shapeOf<Welcome>(welcome("18446744073709551615")), "bad_shape");  // used to become -1
  EXPECT_EQ(shapeOf<Welcome>(welcome("4294967297")), "bad_shape");
}

TEST(Messages, IntegerArraysAreCheckedPerElement) {
  Hello h;
  json body = h;
  for (const char* bad : {"[1.5]", "[3e10]", "[true]", "[\"1\"]", "[2147483648]", "[null]"}) {
    body["protocols"] = json::parse(bad);
    EXPECT_EQ(shapeOf<Hello>(body), "bad_shape") << bad;  // 3e10 was undefined behaviour
  }
  body["protocols"] = json::parse("[-2147483648, 2147483647]");
  EXPECT_EQ(shapeOf<Hello>(body), "ok");
}

// Bodies built in C++ hold non-negative numbers as signed integers; they are valid too.
TEST(Messages, BodiesBuiltInCppWithSignedNumbersConvert) {
  Envelope env;
  env.type = "stream.credit";
  env.body = {{"stream_id", 1}, {"bytes", int64_t{65536}}};
  ASSERT_TRUE(env.body["bytes"].is_number_integer() && !env.body["bytes"].is_number_unsigned());
  auto credit = bodyAs<StreamCredit>(env);
  ASSERT_TRUE(credit.ok()) << credit.error().message;
  EXPECT_EQ(credit->bytes, 65536u);
  env.body["bytes"] = -1;
  EXPECT_FALSE(bodyAs<StreamCredit>(env).ok());
  env.body["stream_id"] = int64_t{1} << 32;
  env.body["bytes"] = 1;
  EXPECT_FALSE(bodyAs<StreamCredit>(env).ok());
}

TEST(Messages, NonFiniteNumbersAreRefused) {
  Envelope env;
  env.type = "job.progress";
  env.body = {{"job_id", "j"}, {"percent", std::numeric_limits<double>::quiet_NaN()}};
  EXPECT_FALSE(bodyAs<JobProgress>(env).ok());
  env.body["percent"] = std::numeric_limits<double>::infinity();
  EXPECT_FALSE(bodyAs<JobProgress>(env).ok());
  env.body["percent"] = 100;
  EXPECT_EQ(bodyAs<JobProgress>(env)->percent, 100.0);
}

TEST(Messages, BodyAsReportsBadShapeWithTheId) {
  Envelope env;
  env.type = "stream.credit";
  env.id = "m-7";
  env.body = {{"stream_id", "x"}};
  auto r = bodyAs<StreamCredit>(env);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, DecodeErrorKind::kBadShape);
  EXPECT_EQ(r.error().ref, "m-7");
  EXPECT_NE(r.error().message.find("stream.credit"), std::string::npos);
  env.body = json::array();
  EXPECT_FALSE(bodyAs<StreamCredit>(env).ok());
}

TEST(Messages, BodyAsAnotherTypeFailsCleanly) {
  auto env = decode(samples::all().front().text);  // a hello
  ASSERT_TRUE(env.ok());
  EXPECT_FALSE(bodyAs<StreamCredit>(*env).ok());
  EXPECT_FALSE(bodyAs<JobDone>(*env).ok());
}

}  // namespace
}  // namespace zlh::proto
