#include "agent/sdk/testing/fake_instance_registry.h"

#include <gtest/gtest.h>

#include "agent/sdk/testing/fake_plugin_context.h"

namespace zlh::agent::sdk::testing {
namespace {
using S = InstanceState;

TEST(FakeInstanceRegistry, CreateTransitionEventsAndListeners) {
  FakePluginContext ctx("lifecycle");
  auto& reg = ctx.fakeInstances();
  std::vector<std::pair<S, S>> seen;
  auto sub = ctx.instances().subscribe(
      [&](const InstanceRecord& now, S before) { seen.emplace_back(before, now.state); });

  auto r = ctx.instances().create("mc-1", "minecraft-java", {{"port", 25565}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().state, S::kInstalling);
  EXPECT_EQ(r.value().state_version, 1u);
  EXPECT_TRUE(std::filesystem::is_directory(r.value().data_dir));
  EXPECT_EQ(r.value().dir, ctx.stateRoot() / "instances" / "mc-1");
  EXPECT_EQ(ctx.instances().create("mc-1", "x", {}).error().code, ErrorCode::kConflict);
  EXPECT_EQ(ctx.instances().create("a/b", "x", {}).error().code, ErrorCode::kInvalidArgument);

  auto t = ctx.instances().transition("mc-1", S::kInstalled, "install finished");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.value().state_version, 2u);
  auto bad = ctx.instances().transition("mc-1", S::kReady, "nope");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(bad.error().message.find("installed -> ready"), std::string::npos);
  EXPECT_EQ(ctx.instances().transition("zz", S::kStopped, "").error().code, ErrorCode::kNotFound);

  ASSERT_EQ(reg.events().size(), 2u);
  EXPECT_EQ(reg.events()[0].body["state"], "installing");
  EXPECT_EQ(reg.events()[0].body["state_version"], 1);
  EXPECT_EQ(reg.events()[1].body["state"], "installed");
  EXPECT_EQ(reg.events()[1].body["state_version"], 2);
  EXPECT_EQ(reg.events()[1].body["reason"], "install finished");
  ASSERT_EQ(ctx.events().size(), 2u);  // also sent through the context
  EXPECT_EQ(ctx.events()[1].type, "instance.state");
  EXPECT_EQ(seen, (std::vector<std::pair<S, S>>{{S::kInstalling, S::kInstalling},
                                                {S::kInstalling, S::kInstalled}}));
  EXPECT_EQ(reg.history("mc-1"), (std::vector<S>{S::kInstalling, S::kInstalled}));
}

TEST(FakeInstanceRegistry, UpdateSeedRemoveAndInjectedFailure) {
  FakePluginContext ctx;
  auto& reg = ctx.fakeInstances();
  InstanceRecord rec;
  rec.id = "dev-1";
  rec.template_name = "process";
  rec.state = S::kRunning;
  rec.state_version = 7;
  reg.seed(rec);
  auto u = reg.update("dev-1", [](InstanceRecord& r) { r.unresponsive = true; });
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u.value().state_version, 8u);
  EXPECT_TRUE(reg.get("dev-1")->unresponsive);
  EXPECT_FALSE(reg.update("dev-1", [](InstanceRecord& r) { r.state = S::kStopped; }).ok());
  EXPECT_TRUE(reg.events().empty());  // update() sends no instance.state

  reg.failNext(makeError(ErrorCode::kInternal, "disk full"));
  EXPECT_EQ(reg.transition("dev-1", S::kStopping, "").error().message, "disk full");
  EXPECT_TRUE(reg.transition("dev-1", S::kStopping, "").ok());

  auto dir = reg.get("dev-1")->dir;
  EXPECT_TRUE(std::filesystem::exists(dir));
  EXPECT_TRUE(reg.remove("dev-1").ok());
  EXPECT_FALSE(std::filesystem::exists(dir));
  EXPECT_EQ(reg.remove("dev-1").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(reg.list().empty());
}

}  // namespace
}  // namespace zlh::agent::sdk::testing
