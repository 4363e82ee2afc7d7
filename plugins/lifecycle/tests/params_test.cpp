#include "plugins/lifecycle/params.h"

#include <gtest/gtest.h>

#include "plugins/lifecycle/port_allocator.h"

namespace zlh::plugins::lifecycle {
namespace {
namespace sdk = agent::sdk;
using nlohmann::json;

Template sample() {
  auto t = parseTemplate(R"(
name = "s"
[params.motd]
type = "string"
default = "hello"
max_length = 10
[params.players]
type = "int"
default = 20
min = 1
max = 100
[params.eula]
type = "bool"
required = true
[params.mode]
type = "string"
choices = ["a", "b"]
default = "a"
[params.note]
type = "string"
[start]
command = ["x", "{{params.motd}}"]
)",
                         "s.toml");
  EXPECT_TRUE(t.ok()) << t.error().message;
  return t.ok() ? t.value() : Template{};
}

std::string err(const json& given) {
  auto r = resolveParams(sample(), given);
  if (r.ok()) return "(ok)";
  EXPECT_EQ(r.error().code, sdk::ErrorCode::kInvalidArgument);
  return r.error().message;
}

TEST(ParamsTest, DefaultsAreFilledIn) {
  auto r = resolveParams(sample(), json{{"eula", true}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(
      *r, (json{{"motd", "hello"}, {"players", 20}, {"eula", true}, {"mode", "a"}, {"note", ""}}));
  RenderVars v;
  addParamVars(*r, v);
  EXPECT_EQ(v["params.players"], "20");
  EXPECT_EQ(v["params.eula"], "true");
  EXPECT_EQ(v["params.motd"], "hello");
}

TEST(ParamsTest, BadParamsNameTheParam) {
  EXPECT_EQ(err(json::object()), "params.eula: missing (required by template \"s\")");
  EXPECT_EQ(err(json{{"eula", true}, {"colour", "red"}}),
            "params.colour: unknown param of template \"s\"");
  EXPECT_EQ(err(json{{"eula", "yes"}}), "params.eula: expected a boolean, got a string");
  // A wrong value is reported before a missing one.
  EXPECT_EQ(err(json{{"players", "many"}}), "params.players: expected an integer, got a string");
  EXPECT_EQ(err(json{{"eula", true}, {"players", 0}}), "params.players: must be at least 1");
  EXPECT_EQ(err(json{{"eula", true}, {"players", 101}}), "params.players: must be at most 100");
  EXPECT_EQ(err(json{{"eula", true}, {"players", 2.5}}),
            "params.players: expected an integer, got a number");
  EXPECT_EQ(err(json{{"eula", true}, {"motd", "a\nb=1"}}),
            "params.motd: control characters (newline, tab, ...) are not allowed");
  EXPECT_EQ(err(json{{"eula", true}, {"motd", "12345678901"}}),
            "params.motd: longer than 10 bytes");
  EXPECT_EQ(err(json{{"eula", true}, {"mode", "c"}}), "params.mode: must be one of a, b");
  EXPECT_EQ(err(json::array()), "params: expected an object, got an array");
}

TEST(ParamsTest, Env) {
  auto ok = parseEnv(json{{"JAVA_OPTS", "-Xss1m"}});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->at("JAVA_OPTS"), "-Xss1m");
  EXPECT_TRUE(parseEnv(json()).ok());
  EXPECT_EQ(parseEnv(json{{"1X", "a"}}).error().message,
            "env.1X: bad variable name (want [A-Za-z_][A-Za-z0-9_]*)");
  EXPECT_EQ(parseEnv(json{{"X", 1}}).error().message, "env.X: expected a string, got an integer");
  EXPECT_FALSE(parseEnv(json{{"X", std::string("a\0b", 3)}}).ok());
}

TEST(ParamsTest, Resources) {
  ResourceSpec defaults;
  auto r = resolveResources(defaults, json{{"memory_mb", 4096}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->memory_mb, 4096u);
  EXPECT_EQ(r->disk_mb, defaults.disk_mb);
  EXPECT_EQ(resolveResources(defaults, json{{"memory_mb", -1}}).error().message,
            "resources.memory_mb: must not be negative");
  EXPECT_EQ(resolveResources(defaults, json{{"gpu", 1}}).error().message,
            "resources.gpu: unknown key (want memory_mb, disk_mb, cpu_pct)");
  EXPECT_EQ(resourcesFromJson(toJson(*r), defaults).memory_mb, 4096u);
}

TEST(PortsTest, RangeAndAllocation) {
  EXPECT_EQ(parsePortRange("25565-25664")->first, 25565);
  EXPECT_EQ(parsePortRange("25565")->last, 25565);
  EXPECT_FALSE(parsePortRange("10-5").ok());
  EXPECT_FALSE(parsePortRange("0-5").ok());
  EXPECT_FALSE(parsePortRange("a-b").ok());
  EXPECT_FALSE(parsePortRange("1-70000").ok());
  std::set<uint16_t> busy{101};
  PortAllocator ports({100, 103}, {"127.0.0.1"},
                      [&](const std::string&, uint16_t p) { return !busy.count(p); });
  EXPECT_EQ(*ports.allocate({}), 100);     // reserved now
  EXPECT_EQ(*ports.allocate({102}), 103);  // 100 reserved, 101 busy, 102 taken
  auto none = ports.allocate({102});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, sdk::ErrorCode::kUnavailable);
  ports.release(100);
  EXPECT_EQ(*ports.allocate({}), 100);
}

}  // namespace
}  // namespace zlh::plugins::lifecycle
