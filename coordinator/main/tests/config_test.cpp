#include "coordinator/main/config.h"

#include <gtest/gtest.h>

namespace zlh::coordinator::main {
namespace {

std::string errorOf(const std::string& text) {
  auto c = parseConfig(text, "/etc/zlh-coordinator/coordinator.toml");
  return c.ok() ? std::string("OK") : c.error().message;
}

const std::string kFile = "/etc/zlh-coordinator/coordinator.toml: ";

TEST(Config, DefaultsFromAnEmptyFile) {
  auto c = parseConfig("", "f.toml");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->server.address.host, "127.0.0.1");
  EXPECT_EQ(c->server.address.port, 7420);
  EXPECT_EQ(c->database.url, "sqlite:///var/lib/zlh-coordinator/zlh.db");
  EXPECT_EQ(c->agents.ping_interval_s, 20u);
  EXPECT_EQ(c->agents.link_timeout_s, 60u);
  EXPECT_EQ(c->agents.job_timeout_s, 60u);
  EXPECT_EQ(c->log.level, "info");
  EXPECT_EQ(c->placement.default_memory_mb, 1024u);
  EXPECT_EQ(c->placement.default_disk_mb, 5120u);
  EXPECT_EQ(c->placement.memory_overcommit_pct, 100u);
  EXPECT_EQ(c->placement.max_instances_per_node, 100u);
  EXPECT_FALSE(c->tls());
  EXPECT_EQ(c->publicUrl(), "http://127.0.0.1:7420");
}

TEST(Config, FullFile) {
  auto c = parseConfig(R"(
[server]
listen = "[::1]:8000"
public_url = "https://zlh.example"
[database]
url = "sqlite://rel.db"
[agents]
ping_interval_s = 5
link_timeout_s = 15
job_timeout_s = 30
[placement]
default_memory_mb = 512
default_disk_mb = 2048
memory_overcommit_pct = 150
max_instances_per_node = 20
[log]
level = "debug"
)", "f.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->server.address.host, "::1");
  EXPECT_EQ(c->server.address.port, 8000);
  EXPECT_EQ(c->publicUrl(), "https://zlh.example");
  EXPECT_EQ(c->agents.ping_interval_s, 5u);
  EXPECT_EQ(c->agents.link_timeout_s, 15u);
  EXPECT_EQ(c->agents.job_timeout_s, 30u);
  EXPECT_EQ(c->placement.default_memory_mb, 512u);
  EXPECT_EQ(c->placement.default_disk_mb, 2048u);
  EXPECT_EQ(c->placement.memory_overcommit_pct, 150u);
  EXPECT_EQ(c->placement.max_instances_per_node, 20u);
}

TEST(Config, ErrorsNameFileKeyAndReason) {
  EXPECT_EQ(errorOf("bogus = 1"), kFile + "bogus: unknown key");
  EXPECT_EQ(errorOf("[server]\nbogus = 1"), kFile + "server.bogus: unknown key");
  EXPECT_EQ(errorOf("server = 1"), kFile + "server: expected a table, got an integer");
  EXPECT_EQ(errorOf("[agents]\nping_interval_s = \"20\""),
            kFile + "agents.ping_interval_s: expected an integer, got a string");
  EXPECT_EQ(errorOf("[agents]\njob_timeout_s = 0"), kFile + "agents.job_timeout_s: must be between 1 and 3600");
  EXPECT_EQ(errorOf("[agents]\nping_interval_s = 30\nlink_timeout_s = 30"),
            kFile + "agents.link_timeout_s: must be greater than agents.ping_interval_s (30)");
  EXPECT_EQ(errorOf("[server]\nlisten = 7420"), kFile + "server.listen: expected a string, got an integer");
  EXPECT_EQ(errorOf("[server]\nlisten = \"127.0.0.1\""),
            kFile + "server.listen: expected host:port, e.g. 127.0.0.1:7420 (IPv6 as [::1]:7420)");
  EXPECT_EQ(errorOf("[server]\nlisten = \"example.com:80\""),
            kFile + "server.listen: \"example.com\" is not an IP address (use an IPv4 or [IPv6] literal, or localhost)");
  EXPECT_EQ(errorOf("[server]\nlisten = \"127.0.0.1:99999\""),
            kFile + "server.listen: port must be a number from 0 to 65535");
  EXPECT_EQ(errorOf("[database]\nurl = \"mysql://x\""),
            kFile + "database.url: unsupported database URL (expected sqlite:///abs/path.db, "
                    "sqlite://relative.db or postgres://user:password@host:port/dbname)");
  // A bad PostgreSQL URL is caught without connecting, and its password is never shown.
  EXPECT_EQ(errorOf("[database]\nurl = \"postgres://zlh:pw@db:54x2/zlh\""),
            kFile + "database.url: bad postgres URL postgres://zlh:***@db:54x2/zlh: invalid port \"54x2\"");
  EXPECT_EQ(errorOf("[server]\ntls_cert = \"/x.pem\""),
            kFile + "server.tls_key: required when server.tls_cert is set");
  EXPECT_EQ(errorOf("[server]\ntls_cert = \"/nonexistent/c.pem\"\ntls_key = \"/nonexistent/k.pem\""),
            kFile + "server.tls_cert: cannot read /nonexistent/c.pem: No such file or directory");
  EXPECT_EQ(errorOf("[log]\nlevel = \"loud\""),
            kFile + "log.level: must be one of trace, debug, info, warn, error");
  EXPECT_EQ(errorOf("[placement]\nmemory_overcommit_pct = 5"),
            kFile + "placement.memory_overcommit_pct: must be between 10 and 1000");
  EXPECT_EQ(errorOf("[placement]\ndefault_memory_mb = 0"),
            kFile + "placement.default_memory_mb: must be between 1 and 2147483647");
  EXPECT_EQ(errorOf("[placement]\nmax_instances = 5"), kFile + "placement.max_instances: unknown key");
  EXPECT_EQ(errorOf("[server]\npublic_url = \"ftp://x\""),
            kFile + "server.public_url: must start with http:// or https://");
}

TEST(Config, SyntaxErrorsNameLineAndColumn) {
  std::string e = errorOf("[server\n");
  EXPECT_EQ(e.rfind(kFile + "line 1, column ", 0), 0u) << e;
}

TEST(Config, MissingFile) {
  auto must = loadConfig("/nonexistent/coordinator.toml", true);
  ASSERT_FALSE(must.ok());
  EXPECT_EQ(must.error().message, "/nonexistent/coordinator.toml: cannot read: No such file or directory");
  auto optional = loadConfig("/nonexistent/coordinator.toml", false);
  ASSERT_TRUE(optional.ok());
  EXPECT_EQ(optional->server.address.port, 7420);
}

TEST(Listen, Forms) {
  EXPECT_EQ(parseListen("0.0.0.0:7420")->host, "0.0.0.0");
  EXPECT_EQ(parseListen("localhost:1")->host, "127.0.0.1");
  EXPECT_EQ(parseListen("[::]:7420")->host, "::");
  EXPECT_EQ(parseListen("127.0.0.1:0")->port, 0);
  EXPECT_FALSE(parseListen("::1:7420").ok());
  EXPECT_FALSE(parseListen("[::1]7420").ok());
  EXPECT_FALSE(parseListen("1.2.3.4:").ok());
  EXPECT_FALSE(parseListen("1.2.3.4:-1").ok());
}

}  // namespace
}  // namespace zlh::coordinator::main
