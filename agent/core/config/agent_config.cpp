#include "agent/core/config/agent_config.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "agent/core/config/toml_json.h"

namespace zlh::agent::core {
namespace {
using nlohmann::json;

sdk::Error configError(const std::filesystem::path& file, const std::string& key,
                       const std::string& reason) {
  std::string msg = file.string() + ": " + (key.empty() ? "" : key + ": ") + reason;
  return sdk::makeError(sdk::ErrorCode::kInvalidArgument, std::move(msg));
}

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n";
  auto b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

std::string names(const std::vector<const sdk::PluginFactory*>& builtins) {
  std::string out;
  for (const auto* f : builtins) out += (out.empty() ? "" : ", ") + std::string(f->name());
  return out.empty() ? "none" : out;
}

const sdk::PluginFactory* findFactory(const std::vector<const sdk::PluginFactory*>& builtins,
                                      const std::string& name) {
  for (const auto* f : builtins)
    if (f->name() == name) return f;
  return nullptr;
}

// Takes the `[plugins.<name>]` sub-tables out of the document (they are checked against each
// plugin's schema); what remains is checked against the agent's schema.
json extractPluginTables(json& doc) {
  json tables = json::object();
  auto plugins = doc.find("plugins");
  if (plugins == doc.end() || !plugins->is_object()) return tables;
  for (auto it = plugins->begin(); it != plugins->end();) {
    if (it->is_object()) {
      tables[it.key()] = *it;
      it = plugins->erase(it);
    } else {
      ++it;
    }
  }
  return tables;
}

sdk::Status checkShimPath(AgentConfig& cfg, const sdk::ConfigValues& v) {
  std::string path = v.getString("agent.shim_path");
  if (path.empty()) {
    std::error_code ec;
    auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    cfg.shim_path =
        ec ? std::filesystem::path("/usr/bin/zlh-shim") : exe.parent_path() / "zlh-shim";
    return {};  // checked when an instance starts: --check-config works where the shim is not
  }
  cfg.shim_path = path;
  if (!cfg.shim_path.is_absolute())
    return configError(cfg.file, "agent.shim_path", "must be an absolute path");
  if (access(path.c_str(), X_OK) != 0)
    return configError(cfg.file, "agent.shim_path",
                       "cannot execute " + path + ": " + std::strerror(errno));
  return {};
}

sdk::Status checkCoordinator(AgentConfig& cfg, const sdk::ConfigValues& v) {
  auto& c = cfg.coordinator;
  const auto& file = cfg.file;
  c.url_text = v.getString("coordinator.url");
  c.insecure = v.getBool("coordinator.insecure");
  auto url = parseWsUrl(c.url_text);
  if (!url.ok()) return configError(file, "coordinator.url", url.error().message);
  if (!url->tls && !c.insecure && !isLoopbackHost(url->host))
    return configError(file, "coordinator.url",
                       "ws:// is allowed only to a loopback host (127.0.0.0/8, ::1, localhost) "
                       "unless coordinator.insecure = true");
  c.url = *url;
  c.ca_file = v.getString("coordinator.ca_file");
  if (!c.ca_file.empty() && access(c.ca_file.c_str(), R_OK) != 0)
    return configError(file, "coordinator.ca_file",
                       "cannot read " + c.ca_file + ": " + std::strerror(errno));
  c.backoff_initial_ms = v.getInt("coordinator.backoff_initial_ms");
  c.backoff_max_ms = v.getInt("coordinator.backoff_max_ms");
  if (c.backoff_max_ms < c.backoff_initial_ms)
    return configError(
        file, "coordinator.backoff_max_ms",
        "must be >= coordinator.backoff_initial_ms (" + std::to_string(c.backoff_initial_ms) + ")");
  c.token_file = v.getString("coordinator.token_file");
  auto token = readTokenFile(c.token_file);
  if (!token.ok()) return configError(file, "coordinator.token_file", token.error().message);
  c.token = std::move(token.value());
  return {};
}

bool hasEnabledKey(const json& doc) {
  auto plugins = doc.find("plugins");
  return plugins != doc.end() && plugins->is_object() && plugins->contains("enabled");
}

sdk::Status checkPlugins(AgentConfig& cfg, const sdk::ConfigValues& v, const json& tables,
                         const std::vector<const sdk::PluginFactory*>& builtins,
                         bool enabled_given) {
  cfg.enabled_plugins = v.getStringList("plugins.enabled");
  if (!enabled_given) {
    cfg.enabled_plugins.clear();
    for (const char* name : kDefaultPlugins)
      if (findFactory(builtins, name)) cfg.enabled_plugins.push_back(name);
  }
  for (size_t i = 0; i < cfg.enabled_plugins.size(); ++i) {
    const auto& name = cfg.enabled_plugins[i];
    if (!findFactory(builtins, name))
      return configError(cfg.file, "plugins.enabled",
                         "unknown plugin \"" + name + "\" (built-in: " + names(builtins) + ")");
    for (size_t j = 0; j < i; ++j)
      if (cfg.enabled_plugins[j] == name)
        return configError(cfg.file, "plugins.enabled", "plugin \"" + name + "\" listed twice");
  }
  for (const auto& [name, table] : tables.items())
    if (!findFactory(builtins, name))
      return configError(cfg.file, "plugins." + name,
                         "unknown plugin (built-in: " + names(builtins) + ")");
  for (const auto* f : builtins) {
    const std::string name(f->name());
    auto it = tables.find(name);
    auto values = f->configSchema().validate(it == tables.end() ? json::object() : *it);
    if (!values.ok()) {
      const auto& issue = values.error();
      return configError(cfg.file, "plugins." + name + (issue.key.empty() ? "" : "." + issue.key),
                         issue.reason);
    }
    cfg.plugin_configs[name] = std::move(values.value());
  }
  return {};
}

}  // namespace

const sdk::ConfigSchema& agentConfigSchema() {
  static const sdk::ConfigSchema schema = [] {
    sdk::ConfigSchema s;
    s.addString("node_id", "This node's id, printed by `zlh-coordinator node add`").required();
    s.addString("coordinator.url", "ws:// or wss:// base URL of the coordinator").required();
    s.addString("coordinator.token_file", "File holding the node token (mode 0600 or stricter)")
        .required();
    s.addString("coordinator.ca_file",
                "PEM bundle to verify the coordinator; default the system store", "");
    s.addBool("coordinator.insecure", "Allow ws:// to a non-loopback host and unverified TLS",
              false);
    s.addInt("coordinator.backoff_initial_ms", "First redial delay (jittered, doubling)", 500)
        .range(1, 3'600'000);
    s.addInt("coordinator.backoff_max_ms", "Redial delay cap", 30000).range(1, 3'600'000);
    s.addString("metrics.listen", "host:port of the read-only /metrics and /healthz",
                "127.0.0.1:7421");
    s.addString("metrics.advertise_url",
                "Metrics URL sent in hello; default http://<listen>/metrics", "");
    s.addInt("capacity.memory_bytes",
             "Memory this node offers to placement; 0: measured (MemTotal)", 0)
        .range(0, int64_t{1} << 62);
    s.addInt("capacity.disk_bytes",
             "Disk this node offers to placement; 0: measured (size of state.dir's file system)", 0)
        .range(0, int64_t{1} << 62);
    s.addString("state.dir", "Agent state (jobs, instances)", "/var/lib/zlh-agent");
    s.addString("state.runtime_dir", "Runtime files (sockets)", "/run/zlh-agent");
    s.addString("agent.shim_path",
                "zlh-shim binary (absolute); default: zlh-shim beside the zlh-agent executable",
                "");
    s.addString("log.level", "Log level", "info")
        .oneOf({"trace", "debug", "info", "warn", "error"});
    s.addStringList("plugins.enabled",
                    "Built-in plugins to run; default: system, lifecycle, console and metrics (where built)",
                    std::vector<std::string>{"system"});
    return s;
  }();
  return schema;
}

sdk::Result<std::string> readTokenFile(const std::filesystem::path& path) {
  auto fail = [](std::string reason) {
    return sdk::makeError(sdk::ErrorCode::kInvalidArgument, std::move(reason));
  };
  if (path.empty()) return fail("must not be empty");
  struct stat st {};
  if (stat(path.c_str(), &st) != 0)
    return fail("cannot read " + path.string() + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return fail(path.string() + " is not a regular file");
  if (st.st_mode & 077) return fail(path.string() + " is readable by group or others (chmod 600)");
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot read " + path.string() + ": " + std::strerror(errno));
  std::ostringstream buf;
  buf << in.rdbuf();
  std::string token = trim(buf.str());
  if (token.empty()) return fail(path.string() + " is empty");
  if (token.find_first_of(" \t\r\n") != std::string::npos)
    return fail(path.string() + " must hold one token on one line");
  return token;
}

sdk::Result<AgentConfig> loadAgentConfig(const std::filesystem::path& file,
                                         const std::vector<const sdk::PluginFactory*>& builtins) {
  AgentConfig cfg;
  cfg.file = file;
  auto doc = readTomlFile(file);
  if (!doc.ok()) return configError(file, "", doc.error().message);
  const bool enabled_given = hasEnabledKey(doc.value());
  json tables = extractPluginTables(doc.value());
  auto values = agentConfigSchema().validate(doc.value());
  if (!values.ok()) return configError(file, values.error().key, values.error().reason);
  const auto& v = values.value();

  cfg.node_id = v.getString("node_id");
  if (cfg.node_id.empty()) return configError(file, "node_id", "must not be empty");
  if (auto s = checkCoordinator(cfg, v); !s.ok()) return s.error();
  auto listen = parseHostPort(v.getString("metrics.listen"));
  if (!listen.ok()) return configError(file, "metrics.listen", listen.error().message);
  cfg.metrics.listen = *listen;
  cfg.metrics.advertise_url = v.getString("metrics.advertise_url");
  if (!cfg.metrics.advertise_url.empty() && cfg.metrics.advertise_url.rfind("http://", 0) != 0 &&
      cfg.metrics.advertise_url.rfind("https://", 0) != 0)
    return configError(file, "metrics.advertise_url", "must start with http:// or https://");
  cfg.capacity.memory_bytes = static_cast<uint64_t>(v.getInt("capacity.memory_bytes"));
  cfg.capacity.disk_bytes = static_cast<uint64_t>(v.getInt("capacity.disk_bytes"));
  cfg.state_dir = v.getString("state.dir");
  if (cfg.state_dir.empty()) return configError(file, "state.dir", "must not be empty");
  cfg.runtime_dir = v.getString("state.runtime_dir");
  if (cfg.runtime_dir.empty()) return configError(file, "state.runtime_dir", "must not be empty");
  if (auto s = checkShimPath(cfg, v); !s.ok()) return s.error();
  cfg.log_level = v.getString("log.level");
  if (auto s = checkPlugins(cfg, v, tables, builtins, enabled_given); !s.ok()) return s.error();
  return cfg;
}

}  // namespace zlh::agent::core
