#include "agent/sdk/testing/fake_plugin_context.h"

#include <gtest/gtest.h>

namespace zlh::agent::sdk::testing {
namespace {
using namespace std::chrono_literals;

TEST(FakePluginContext, RunsPostedWorkAndTimersOnDemand) {
  FakePluginContext ctx("demo");
  std::vector<int> order;
  ctx.post([&] { order.push_back(1); });
  auto t1 = ctx.after(100ms, [&] { order.push_back(3); });
  auto t2 = ctx.after(50ms, [&] { order.push_back(2); });
  auto t3 = ctx.after(60ms, [&] { order.push_back(99); });
  t3->cancel();
  EXPECT_EQ(ctx.runPending(), 1u);
  ctx.advance(99ms);
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  ctx.advance(1ms);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(FakePluginContext, RecordsEventsAndLogs) {
  FakePluginContext ctx("demo");
  EXPECT_TRUE(ctx.emitEvent("instance.ready", {{"instance_id", "i1"}, {"state_version", 1}}).ok());
  ctx.log().info("n=", 3);
  ASSERT_EQ(ctx.events().size(), 1u);
  EXPECT_EQ(ctx.events()[0].type, "instance.ready");
  ASSERT_EQ(ctx.logLines().size(), 1u);
  EXPECT_EQ(ctx.logLines()[0].text, "n=3");
  ctx.failEvents(makeError(ErrorCode::kUnavailable, "down"));
  EXPECT_FALSE(ctx.emitEvent("instance.ready", {}).ok());
  EXPECT_TRUE(std::filesystem::is_directory(ctx.stateDir()));
}

}  // namespace
}  // namespace zlh::agent::sdk::testing
