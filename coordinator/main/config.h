#pragma once
// coordinator.toml (docs/configuration.md). Every error names the file, the key and the reason:
// "<file>: <key>: <reason>", which main prints after "zlh-coordinator: " and exits 2.
#include <cstdint>
#include <string>
#include <string_view>

#include "proto/v1/result.h"

namespace zlh::coordinator::main {

inline constexpr const char* kDefaultConfigPath = "/etc/zlh-coordinator/coordinator.toml";

struct ListenAddress {
  std::string host;  // IP literal, IPv6 without brackets
  uint16_t port = 0;
};

struct Config {
  std::string path;  // the file read; empty when defaults were used
  struct Server {
    std::string listen = "127.0.0.1:7420";
    ListenAddress address{"127.0.0.1", 7420};
    std::string public_url;
    std::string tls_cert;
    std::string tls_key;
    std::string web_dir = "/usr/share/zlh-coordinator/web";  // the console page and its assets
  } server;
  struct Database {
    std::string url = "sqlite:///var/lib/zlh-coordinator/zlh.db";
  } database;
  struct Agents {
    uint32_t ping_interval_s = 20;
    uint32_t link_timeout_s = 60;
    uint32_t job_timeout_s = 60;
  } agents;
  struct Console {
    uint32_t ticket_ttl_s = 30;      // a console ticket is single-use and valid this long
    uint32_t idle_timeout_s = 1800;  // a console without input this long is closed (4011)
  } console;
  struct Queues {
    uint32_t lease_s = 30;        // a claimed job's lease (heartbeat every third of it)
    uint32_t poll_ms = 1000;      // claim interval when nothing new arrived on this coordinator
    uint32_t sweep_s = 5;         // expired leases and waiting marks
    uint32_t retry_base_ms = 1000;
    uint32_t retry_cap_s = 300;
    uint32_t provisioning_concurrency = 32;
    uint32_t repair_concurrency = 4;
    uint32_t billing_enforcement_concurrency = 4;
    uint32_t finished_retention_h = 168;  // finished jobs are pruned after this
    uint32_t prune_interval_s = 3600;
  } queues;
  /// docs/placement.md; defaults reserved by a create that names no resources.memory_mb/disk_mb.
  struct Placement {
    uint32_t default_memory_mb = 1024;
    uint32_t default_disk_mb = 5120;
    uint32_t memory_overcommit_pct = 100;  // a node offers its memory times this / 100
    uint32_t max_instances_per_node = 100;
  } placement;
  struct Log {
    std::string level = "info";
  } log;

  bool tls() const { return !server.tls_cert.empty(); }
  /// public_url, or derived from listen and TLS ("http://127.0.0.1:7420").
  std::string publicUrl() const;
};

/// "host:port" with an IP literal host ("[::1]:7420" for IPv6) or "localhost"; port 0 lets the
/// kernel pick one.
proto::Result<ListenAddress> parseListen(std::string_view text);

/// Parses `text` as the content of `path` (the name used in messages).
proto::Result<Config> parseConfig(std::string_view text, const std::string& path);

/// Reads and parses `path`. A missing file is an error when `must_exist`, else the defaults.
proto::Result<Config> loadConfig(const std::string& path, bool must_exist);

}  // namespace zlh::coordinator::main
