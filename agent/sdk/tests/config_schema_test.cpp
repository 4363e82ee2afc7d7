#include "agent/sdk/config_schema.h"

#include <gtest/gtest.h>

namespace zlh::agent::sdk {
namespace {
using nlohmann::json;

ConfigSchema sample() {
  ConfigSchema s;
  s.addString("name", "a name").required();
  s.addInt("port", "a port", 7421).range(1, 65535);
  s.addBool("verbose", "more output", false);
  s.addStringList("tags", "tags", std::vector<std::string>{"a"});
  s.addString("level", "log level", "info").oneOf({"debug", "info"});
  s.addString("inner.url", "nested key", "");
  return s;
}

TEST(ConfigSchema, FillsDefaults) {
  auto r = sample().validate(json{{"name", "x"}});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->getString("name"), "x");
  EXPECT_EQ(r->getInt("port"), 7421);
  EXPECT_FALSE(r->getBool("verbose"));
  EXPECT_EQ(r->getStringList("tags"), std::vector<std::string>{"a"});
  EXPECT_EQ(r->getString("level"), "info");
  EXPECT_TRUE(r->has("inner.url"));
}

TEST(ConfigSchema, ReadsNestedTables) {
  auto r = sample().validate(json{{"name", "x"}, {"inner", {{"url", "ws://h"}}}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->getString("inner.url"), "ws://h");
}

TEST(ConfigSchema, RejectsUnknownKey) {
  auto r = sample().validate(json{{"name", "x"}, {"bogus", 1}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "bogus: unknown key");
}

TEST(ConfigSchema, RejectsUnknownNestedKey) {
  auto r = sample().validate(json{{"name", "x"}, {"inner", {{"nope", 1}}}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "inner.nope: unknown key");
}

TEST(ConfigSchema, RejectsScalarWhereTableExpected) {
  auto r = sample().validate(json{{"name", "x"}, {"inner", 3}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "inner: expected a table, got an integer");
}

TEST(ConfigSchema, RejectsWrongTypes) {
  auto s = sample();
  EXPECT_EQ(s.validate(json{{"name", 1}}).error().message(),
            "name: expected a string, got an integer");
  EXPECT_EQ(s.validate(json{{"name", "x"}, {"port", "80"}}).error().message(),
            "port: expected an integer, got a string");
  EXPECT_EQ(s.validate(json{{"name", "x"}, {"port", 1.5}}).error().message(),
            "port: expected an integer, got a float");
  EXPECT_EQ(s.validate(json{{"name", "x"}, {"verbose", "yes"}}).error().message(),
            "verbose: expected a boolean, got a string");
  EXPECT_EQ(s.validate(json{{"name", "x"}, {"tags", "a"}}).error().message(),
            "tags: expected a list of strings, got a string");
  EXPECT_EQ(s.validate(json{{"name", "x"}, {"tags", json::array({"a", 2})}}).error().message(),
            "tags: expected a list of strings, item 2 is an integer");
}

TEST(ConfigSchema, RejectsMissingRequired) {
  auto r = sample().validate(json::object());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "name: missing (required)");
}

TEST(ConfigSchema, ChecksRangeAndChoices) {
  auto s = sample();
  EXPECT_EQ(s.validate(json{{"name", "x"}, {"port", 0}}).error().message(),
            "port: must be between 1 and 65535, got 0");
  EXPECT_EQ(s.validate(json{{"name", "x"}, {"level", "loud"}}).error().message(),
            "level: must be one of: debug, info");
}

TEST(ConfigSchema, EmptySchemaAcceptsNullAndEmptyTable) {
  ConfigSchema s;
  EXPECT_TRUE(s.validate(json()).ok());
  EXPECT_TRUE(s.validate(json::object()).ok());
  EXPECT_EQ(s.validate(json{{"x", 1}}).error().message(), "x: unknown key");
}

TEST(ConfigSchema, DescribesKeys) {
  auto text = sample().describe();
  EXPECT_NE(text.find("name (a string, required): a name"), std::string::npos);
  EXPECT_NE(text.find("port (an integer, default 7421): a port"), std::string::npos);
}

}  // namespace
}  // namespace zlh::agent::sdk
