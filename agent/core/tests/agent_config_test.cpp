#include "agent/core/config/agent_config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <random>

#include "agent/core/tests/test_plugins.h"

namespace zlh::agent::core {
namespace {
namespace fs = std::filesystem;

class AgentConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("zlh-cfg-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
    token_ = dir_ / "node.token";
    writeToken("  zlh_secret_token\n", 0600);
    file_ = dir_ / "agent.toml";
  }
  void TearDown() override { fs::remove_all(dir_); }

  void writeToken(const std::string& text, mode_t mode) {
    std::ofstream(token_) << text;
    ::chmod(token_.c_str(), mode);
  }
  // A valid config with `extra` appended (TOML allows adding keys to tables later only through
  // dotted keys, so tests append whole lines with dotted keys or new tables).
  std::string base(const std::string& url = "ws://127.0.0.1:7420") const {
    return "node_id = \"nd_1\"\n"
           "[coordinator]\n"
           "url = \"" +
           url +
           "\"\n"
           "token_file = \"" +
           token_.string() + "\"\n";
  }
  sdk::Result<AgentConfig> load(const std::string& text) {
    std::ofstream(file_) << text;
    std::vector<const sdk::PluginFactory*> builtins{&system_, &other_};
    return loadAgentConfig(file_, builtins);
  }
  std::string err(const std::string& text) {
    auto r = load(text);
    EXPECT_FALSE(r.ok()) << "config was accepted:\n" << text;
    return r.ok() ? "" : r.error().message;
  }
  std::string f() const { return file_.string(); }

  fs::path dir_, token_, file_;
  testing::TestFactory system_{testing::TestPluginSpec{"system", {"system.info"}}};
  testing::TestFactory other_{testing::TestPluginSpec{"other", {"other.run"}}};
};

TEST_F(AgentConfigTest, ValidConfigWithDefaults) {
  auto r = load(base());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->node_id, "nd_1");
  EXPECT_EQ(r->coordinator.token, "zlh_secret_token");  // trimmed
  EXPECT_EQ(r->coordinator.url.path, "/agent/v1/connect");
  EXPECT_EQ(r->coordinator.backoff_initial_ms, 500);
  EXPECT_EQ(r->coordinator.backoff_max_ms, 30000);
  EXPECT_EQ(r->metrics.listen.text(), "127.0.0.1:7421");
  EXPECT_EQ(r->state_dir, "/var/lib/zlh-agent");
  EXPECT_EQ(r->enabled_plugins, std::vector<std::string>{"system"});
  EXPECT_EQ(r->plugin_configs.at("system").getInt("size"), 1);
  EXPECT_EQ(r->capacity.memory_bytes, 0u);  // measured
  EXPECT_EQ(r->capacity.disk_bytes, 0u);
}

TEST_F(AgentConfigTest, CapacityOverridesWhatIsMeasured) {
  auto r = load(base() + "[capacity]\nmemory_bytes = 2_147_483_648\ndisk_bytes = 10737418240\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->capacity.memory_bytes, 2147483648u);
  EXPECT_EQ(r->capacity.disk_bytes, 10737418240u);
  EXPECT_NE(err(base() + "[capacity]\nmemory_bytes = -1\n").find(": capacity.memory_bytes: "),
            std::string::npos);
  EXPECT_NE(err(base() + "[capacity]\ncpus = 2\n").find("capacity.cpus"), std::string::npos);
}

TEST_F(AgentConfigTest, UnknownKey) {
  EXPECT_EQ(err(base() + "[metrics]\nbogus = 1\n"), f() + ": metrics.bogus: unknown key");
  EXPECT_EQ(err(base() + "[nonsense]\nx = 1\n"), f() + ": nonsense: unknown key");
}

TEST_F(AgentConfigTest, WrongType) {
  EXPECT_EQ(err(base() + "backoff_max_ms = \"30s\"\n"),
            f() + ": coordinator.backoff_max_ms: expected an integer, got a string");
  EXPECT_EQ(err(base() + "insecure = 1\n"),
            f() + ": coordinator.insecure: expected a boolean, got an integer");
}

TEST_F(AgentConfigTest, MissingRequired) {
  EXPECT_EQ(
      err("[coordinator]\nurl = \"ws://127.0.0.1\"\ntoken_file = \"" + token_.string() + "\"\n"),
      f() + ": node_id: missing (required)");
  EXPECT_EQ(err("node_id = \"n\"\n[coordinator]\ntoken_file = \"x\"\n"),
            f() + ": coordinator.url: missing (required)");
}

TEST_F(AgentConfigTest, BadUrl) {
  EXPECT_EQ(err(base("http://127.0.0.1:7420")),
            f() + ": coordinator.url: must start with ws:// or wss://");
  EXPECT_EQ(err(base("wss://")), f() + ": coordinator.url: has no host");
  EXPECT_EQ(err(base("wss://host:99999")), f() + ": coordinator.url: has a bad port");
}

TEST_F(AgentConfigTest, PlainWsOnlyToLoopbackUnlessInsecure) {
  EXPECT_EQ(err(base("ws://coordinator.example:7420")),
            f() +
                ": coordinator.url: ws:// is allowed only to a loopback host (127.0.0.0/8, ::1, "
                "localhost) unless coordinator.insecure = true");
  EXPECT_TRUE(load(base("ws://localhost:7420")).ok());
  EXPECT_TRUE(load(base("ws://127.1.2.3:7420")).ok());
  EXPECT_TRUE(load(base("ws://[::1]:7420")).ok());
  EXPECT_TRUE(load(base("wss://coordinator.example:7420")).ok());
  auto r = load(base("ws://coordinator.example:7420") + "insecure = true\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->coordinator.insecure);
}

TEST_F(AgentConfigTest, TokenFileModeTooOpen) {
  writeToken("zlh_x\n", 0644);
  EXPECT_EQ(err(base()), f() + ": coordinator.token_file: " + token_.string() +
                             " is readable by group or others (chmod 600)");
  writeToken("zlh_x\n", 0620);
  EXPECT_FALSE(load(base()).ok());
  writeToken("zlh_x\n", 0400);
  EXPECT_TRUE(load(base()).ok());
}

TEST_F(AgentConfigTest, TokenFileEmptyOrMissing) {
  writeToken(" \n\t\n", 0600);
  EXPECT_EQ(err(base()), f() + ": coordinator.token_file: " + token_.string() + " is empty");
  fs::remove(token_);
  EXPECT_EQ(err(base()), f() + ": coordinator.token_file: cannot read " + token_.string() +
                             ": No such file or directory");
}

TEST_F(AgentConfigTest, UnknownPlugin) {
  EXPECT_EQ(err(base() + "[plugins]\nenabled = [\"system\", \"bogus\"]\n"),
            f() + ": plugins.enabled: unknown plugin \"bogus\" (built-in: system, other)");
  EXPECT_EQ(err(base() + "[plugins.bogus]\nx = 1\n"),
            f() + ": plugins.bogus: unknown plugin (built-in: system, other)");
}

TEST_F(AgentConfigTest, PluginTablesUseThePluginSchema) {
  EXPECT_EQ(err(base() + "[plugins.system]\nx = 1\n"), f() + ": plugins.system.x: unknown key");
  EXPECT_EQ(err(base() + "[plugins.other]\nsize = \"big\"\n"),
            f() + ": plugins.other.size: expected an integer, got a string");
  auto r =
      load(base() + "[plugins]\nenabled = [\"system\", \"other\"]\n[plugins.other]\nsize = 7\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->plugin_configs.at("other").getInt("size"), 7);
}

TEST_F(AgentConfigTest, OtherChecks) {
  EXPECT_EQ(err(base() + "backoff_initial_ms = 1000\nbackoff_max_ms = 10\n"),
            f() + ": coordinator.backoff_max_ms: must be >= coordinator.backoff_initial_ms (1000)");
  EXPECT_EQ(err(base() + "[log]\nlevel = \"loud\"\n"),
            f() + ": log.level: must be one of: trace, debug, info, warn, error");
  EXPECT_EQ(err(base() + "[metrics]\nlisten = \"7421\"\n"),
            f() + ": metrics.listen: expected host:port, e.g. 127.0.0.1:7421");
  EXPECT_EQ(
      err("node_id = \n"),
      f() + ": line 1, column 11: Error while parsing key-value pair: expected value, saw '\\n'");
}

TEST_F(AgentConfigTest, MissingFile) {
  auto r = loadAgentConfig(dir_ / "nope.toml", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            (dir_ / "nope.toml").string() + ": cannot read: No such file or directory");
}

}  // namespace
}  // namespace zlh::agent::core

namespace zlh::agent::core {
namespace {

class AgentConfigInstancesTest : public AgentConfigTest {};

TEST_F(AgentConfigInstancesTest, ShimPathDefaultsBesideTheExecutableAndIsCheckedWhenSet) {
  auto r = load(base());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->shim_path.filename(), "zlh-shim");
  EXPECT_EQ(r->shim_path.parent_path(), fs::read_symlink("/proc/self/exe").parent_path());

  EXPECT_EQ(err(base() + "[agent]\nshim_path = \"zlh-shim\"\n"),
            f() + ": agent.shim_path: must be an absolute path");
  EXPECT_EQ(
      err(base() + "[agent]\nshim_path = \"/nonexistent/zlh-shim\"\n"),
      f() + ": agent.shim_path: cannot execute /nonexistent/zlh-shim: No such file or directory");
  EXPECT_EQ(err(base() + "[agent]\nbogus = 1\n"), f() + ": agent.bogus: unknown key");
  auto ok = load(base() + "[agent]\nshim_path = \"/bin/true\"\n");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->shim_path, "/bin/true");
}

TEST_F(AgentConfigInstancesTest, DefaultPluginsAreSystemAndLifecycleWhereBuilt) {
  // Built-ins of this fixture: system and other -> default just system.
  auto r = load(base());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->enabled_plugins, std::vector<std::string>{"system"});
  testing::TestFactory lifecycle{testing::TestPluginSpec{"lifecycle", {"lifecycle.start"}}};
  testing::TestFactory console{testing::TestPluginSpec{"console", {}}};
  testing::TestFactory metrics{testing::TestPluginSpec{"metrics", {}}};
  std::ofstream(file_) << base();
  auto with = loadAgentConfig(file_, {&system_, &lifecycle, &console, &metrics, &other_});
  ASSERT_TRUE(with.ok()) << with.error().message;
  EXPECT_EQ(with->enabled_plugins,
            (std::vector<std::string>{"system", "lifecycle", "console", "metrics"}));
  std::ofstream(file_) << base() + "[plugins]\nenabled = [\"system\"]\n";
  auto explicit_list = loadAgentConfig(file_, {&system_, &lifecycle, &other_});
  ASSERT_TRUE(explicit_list.ok());
  EXPECT_EQ(explicit_list->enabled_plugins, std::vector<std::string>{"system"});
  EXPECT_EQ(err(base() + "[state]\nruntime_dir = \"\"\n"),
            f() + ": state.runtime_dir: must not be empty");
}

}  // namespace
}  // namespace zlh::agent::core
