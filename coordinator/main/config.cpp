#include "coordinator/main/config.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <toml++/toml.h>

#include "coordinator/store/store.h"

namespace zlh::coordinator::main {
namespace {
using proto::ErrorCode;
using proto::makeError;

const std::map<std::string, std::set<std::string>>& schema() {
  static const std::map<std::string, std::set<std::string>> s{
      {"server", {"listen", "public_url", "tls_cert", "tls_key", "web_dir"}},
      {"database", {"url"}},
      {"agents", {"ping_interval_s", "link_timeout_s", "job_timeout_s"}},
      {"console", {"ticket_ttl_s", "idle_timeout_s"}},
      {"queues",
       {"lease_s", "poll_ms", "sweep_s", "retry_base_ms", "retry_cap_s",
        "provisioning_concurrency", "repair_concurrency", "billing_enforcement_concurrency",
        "finished_retention_h", "prune_interval_s"}},
      {"placement",
       {"default_memory_mb", "default_disk_mb", "memory_overcommit_pct", "max_instances_per_node"}},
      {"log", {"level"}},
  };
  return s;
}

std::string typeName(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
  }
}

/// Collects "<file>: <key>: <reason>" errors; the first one wins.
class Reader {
 public:
  Reader(const toml::table& root, std::string path) : root_(root), path_(std::move(path)) {}

  std::optional<proto::Error> error;

  void fail(const std::string& key, const std::string& reason) {
    if (!error) error = makeError(ErrorCode::kInvalidArgument, path_ + ": " + key + ": " + reason);
  }

  void string(const char* section, const char* key, std::string& out) {
    const toml::node* n = find(section, key);
    if (!n) return;
    if (auto v = n->value<std::string>(); n->is_string() && v) out = *v;
    else fail(dotted(section, key), "expected a string, got " + typeName(*n));
  }

  void integer(const char* section, const char* key, uint32_t& out, int64_t min, int64_t max) {
    const toml::node* n = find(section, key);
    if (!n) return;
    if (!n->is_integer()) return fail(dotted(section, key), "expected an integer, got " + typeName(*n));
    int64_t v = n->as_integer()->get();
    if (v < min || v > max)
      return fail(dotted(section, key), "must be between " + std::to_string(min) + " and " + std::to_string(max));
    out = static_cast<uint32_t>(v);
  }

  void checkKeys() {
    for (const auto& [k, node] : root_) {
      std::string key(k.str());
      auto it = schema().find(key);
      if (it == schema().end()) return fail(key, "unknown key");
      if (!node.is_table()) return fail(key, "expected a table, got " + typeName(node));
      for (const auto& [sub, _] : *node.as_table())
        if (!it->second.count(std::string(sub.str()))) return fail(key + "." + std::string(sub.str()), "unknown key");
    }
  }

 private:
  static std::string dotted(const char* section, const char* key) {
    return std::string(section) + "." + key;
  }
  const toml::node* find(const char* section, const char* key) const {
    const toml::node* s = root_.get(section);
    if (!s || !s->is_table()) return nullptr;
    return s->as_table()->get(key);
  }

  const toml::table& root_;
  std::string path_;
};

bool readable(const std::string& file, std::string& why) {
  if (::access(file.c_str(), R_OK) == 0) return true;
  why = std::strerror(errno);
  return false;
}

void validate(Config& c, Reader& r) {
  if (auto addr = parseListen(c.server.listen)) c.server.address = *addr;
  else r.fail("server.listen", addr.error().message);
  if (!c.server.public_url.empty() && c.server.public_url.rfind("http://", 0) != 0 &&
      c.server.public_url.rfind("https://", 0) != 0)
    r.fail("server.public_url", "must start with http:// or https://");
  if (c.server.tls_cert.empty() != c.server.tls_key.empty())
    r.fail(c.server.tls_cert.empty() ? "server.tls_cert" : "server.tls_key",
           "required when server." + std::string(c.server.tls_cert.empty() ? "tls_key" : "tls_cert") + " is set");
  std::string why;
  if (!c.server.tls_cert.empty() && !readable(c.server.tls_cert, why))
    r.fail("server.tls_cert", "cannot read " + c.server.tls_cert + ": " + why);
  if (!c.server.tls_key.empty() && !readable(c.server.tls_key, why))
    r.fail("server.tls_key", "cannot read " + c.server.tls_key + ": " + why);
  if (auto url = store::parseDatabaseUrl(c.database.url); !url) r.fail("database.url", url.error().message);
  if (c.agents.link_timeout_s <= c.agents.ping_interval_s)
    r.fail("agents.link_timeout_s", "must be greater than agents.ping_interval_s (" +
                                        std::to_string(c.agents.ping_interval_s) + ")");
  static const std::set<std::string> kLevels{"trace", "debug", "info", "warn", "error"};
  if (!kLevels.count(c.log.level)) r.fail("log.level", "must be one of trace, debug, info, warn, error");
}
}  // namespace

std::string Config::publicUrl() const {
  if (!server.public_url.empty()) return server.public_url;
  std::string host = server.address.host.find(':') != std::string::npos ? "[" + server.address.host + "]"
                                                                         : server.address.host;
  return std::string(tls() ? "https://" : "http://") + host + ":" + std::to_string(server.address.port);
}

proto::Result<ListenAddress> parseListen(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return makeError(ErrorCode::kInvalidArgument, why);
  };
  std::string s(text);
  std::string host, port;
  if (!s.empty() && s[0] == '[') {
    auto close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':')
      return bad("expected [IPv6]:port, e.g. [::1]:7420");
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
    in6_addr a6{};
    if (inet_pton(AF_INET6, host.c_str(), &a6) != 1) return bad("\"" + host + "\" is not an IPv6 address");
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string::npos || s.find(':') != colon)
      return bad("expected host:port, e.g. 127.0.0.1:7420 (IPv6 as [::1]:7420)");
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (host == "localhost") host = "127.0.0.1";
    in_addr a4{};
    if (inet_pton(AF_INET, host.c_str(), &a4) != 1)
      return bad("\"" + host + "\" is not an IP address (use an IPv4 or [IPv6] literal, or localhost)");
  }
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port) > 65535)
    return bad("port must be a number from 0 to 65535");
  return ListenAddress{host, static_cast<uint16_t>(std::stoul(port))};
}

proto::Result<Config> parseConfig(std::string_view text, const std::string& path) {
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << path << ": line " << e.source().begin.line << ", column " << e.source().begin.column
       << ": " << e.description();
    return makeError(ErrorCode::kInvalidArgument, os.str());
  }
  Config c;
  c.path = path;
  Reader r(root, path);
  r.checkKeys();
  r.string("server", "listen", c.server.listen);
  r.string("server", "public_url", c.server.public_url);
  r.string("server", "tls_cert", c.server.tls_cert);
  r.string("server", "tls_key", c.server.tls_key);
  r.string("server", "web_dir", c.server.web_dir);
  r.string("database", "url", c.database.url);
  r.integer("agents", "ping_interval_s", c.agents.ping_interval_s, 1, 3600);
  r.integer("agents", "link_timeout_s", c.agents.link_timeout_s, 2, 7200);
  r.integer("agents", "job_timeout_s", c.agents.job_timeout_s, 1, 3600);
  r.integer("console", "ticket_ttl_s", c.console.ticket_ttl_s, 1, 600);
  r.integer("console", "idle_timeout_s", c.console.idle_timeout_s, 1, 604800);
  r.integer("queues", "lease_s", c.queues.lease_s, 1, 3600);
  r.integer("queues", "poll_ms", c.queues.poll_ms, 10, 60000);
  r.integer("queues", "sweep_s", c.queues.sweep_s, 1, 3600);
  r.integer("queues", "retry_base_ms", c.queues.retry_base_ms, 1, 3600000);
  r.integer("queues", "retry_cap_s", c.queues.retry_cap_s, 1, 86400);
  r.integer("queues", "provisioning_concurrency", c.queues.provisioning_concurrency, 1, 1024);
  r.integer("queues", "repair_concurrency", c.queues.repair_concurrency, 1, 1024);
  r.integer("queues", "billing_enforcement_concurrency", c.queues.billing_enforcement_concurrency,
            1, 1024);
  r.integer("queues", "finished_retention_h", c.queues.finished_retention_h, 1, 87600);
  r.integer("queues", "prune_interval_s", c.queues.prune_interval_s, 1, 86400);
  r.integer("placement", "default_memory_mb", c.placement.default_memory_mb, 1, 2147483647);
  r.integer("placement", "default_disk_mb", c.placement.default_disk_mb, 1, 2147483647);
  r.integer("placement", "memory_overcommit_pct", c.placement.memory_overcommit_pct, 10, 1000);
  r.integer("placement", "max_instances_per_node", c.placement.max_instances_per_node, 1, 100000);
  r.string("log", "level", c.log.level);
  if (!r.error) validate(c, r);
  if (r.error) return *r.error;
  return c;
}

proto::Result<Config> loadConfig(const std::string& path, bool must_exist) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    if (err == ENOENT && !must_exist) {
      Config c;
      (void)parseListen(c.server.listen);
      return c;
    }
    return makeError(ErrorCode::kInvalidArgument, path + ": cannot read: " + std::strerror(err));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return parseConfig(ss.str(), path);
}

}  // namespace zlh::coordinator::main
