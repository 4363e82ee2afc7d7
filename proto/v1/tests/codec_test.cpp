#include "proto/v1/codec.h"

#include <gtest/gtest.h>

namespace zlh::proto {
namespace {

TEST(Codec, RoundTripsHello) {
  Hello h;
  h.node_id = "n1";
  h.agent_version = "0.1.0";
  auto text = encode(h);
  auto env = decode(text);
  ASSERT_TRUE(env.ok()) << env.error().message;
  EXPECT_EQ(env->type, "hello");
  auto back = bodyAs<Hello>(*env);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->node_id, "n1");
}

}  // namespace
}  // namespace zlh::proto
