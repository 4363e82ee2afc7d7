#include "coordinator/api/instance_request.h"

#include <gtest/gtest.h>

namespace zlh::coordinator::api {
namespace {
using nlohmann::json;

TEST(InstanceRequest, DefaultsAndJobParams) {
  auto r = parseCreateInstance(json::parse(R"({"name":"a","template":"test"})"));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->start);
  EXPECT_FALSE(r->node);
  EXPECT_FALSE(r->owner);
  EXPECT_EQ(r->jobParams(), json::parse(R"({"template":"test","name":"a","params":{},"env":{},
                                            "resources":{},"start":true})"));
  auto nulls =
      parseCreateInstance(json::parse(R"({"name":"a","template":"test","node":null,"env":null})"));
  EXPECT_TRUE(nulls.ok());
}

TEST(InstanceRequest, Names) {
  EXPECT_TRUE(validInstanceName("a"));
  EXPECT_TRUE(validInstanceName(std::string(64, 'x')));
  EXPECT_FALSE(validInstanceName(std::string(65, 'x')));
  EXPECT_TRUE(validInstanceName("My Server_1.0-beta"));
  EXPECT_FALSE(validInstanceName("tab\there"));
  EXPECT_FALSE(validInstanceName("caf\xc3\xa9"));
}

TEST(InstanceRequest, PowerActions) {
  for (const char* a : {"start", "stop", "restart", "kill"})
    EXPECT_EQ(*parsePowerAction({{"action", a}}), a);
  EXPECT_FALSE(parsePowerAction({{"action", "STOP"}}).ok());
  EXPECT_FALSE(parsePowerAction(json::object()).ok());
}

TEST(InstanceRequest, IdempotencyKeys) {
  EXPECT_TRUE(validIdempotencyKey("5f2b8c1e-0c1a-4d43-9d8e-1c2b3a4d5e6f"));
  EXPECT_FALSE(validIdempotencyKey(""));
  EXPECT_FALSE(validIdempotencyKey("a b"));
  EXPECT_FALSE(validIdempotencyKey(std::string(256, 'a')));
}

}  // namespace
}  // namespace zlh::coordinator::api
