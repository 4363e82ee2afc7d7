#pragma once
// Node collectors: the node_exporter 1.5 families this agent exports, read from procfs/sysfs
// under configurable roots (like node_exporter's --path.procfs/--path.sysfs), so tests can point
// them at fixture trees. Names, labels, units, types and HELP follow node_exporter; docs/metrics.md
// lists them.
//
// A collector that cannot read or parse its files reports node_scrape_collector_success 0 and
// writes none of its samples: a failed collector never fails the scrape.
//
// Cost: files are read with plain read() into buffers kept between scrapes; parsing is by hand
// (no regex, no iostreams). Not thread-safe: one scrape at a time (the core's loop).
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/sdk/metrics_writer.h"

namespace zlh::plugins::metrics {

struct NodeConfig {
  std::string procfs = "/proc";
  std::string sysfs = "/sys";
  /// Prefix for statfs() of mount points (node_exporter's --path.rootfs); "" or "/" = none.
  std::string rootfs = "/";
  /// Collector names to run, in output order; empty = all (see allCollectorNames()).
  std::vector<std::string> collectors;
  /// Mount points excluded: "P" excludes P and everything below it, "P/" only what is below P.
  std::vector<std::string> mount_points_exclude = defaultMountPointsExclude();
  std::vector<std::string> fs_types_exclude = defaultFsTypesExclude();
  std::vector<std::string> netdev_exclude = {"lo"};

  static std::vector<std::string> defaultMountPointsExclude();
  static std::vector<std::string> defaultFsTypesExclude();
};

/// Every collector, in default order.
const std::vector<std::string>& allCollectorNames();

/// node_exporter's default diskstats exclusion, `^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$`:
/// RAM disks, loop devices, floppies and partitions.
bool diskExcluded(std::string_view device);
/// Whether `mount_point` is excluded by `rules` (see NodeConfig::mount_points_exclude).
bool mountPointExcluded(std::string_view mount_point, const std::vector<std::string>& rules);

class NodeCollectors {
 public:
  using Clock = std::function<double()>;  ///< wall clock, seconds since the epoch
  explicit NodeCollectors(NodeConfig config, Clock wall_clock = {});
  ~NodeCollectors();
  NodeCollectors(const NodeCollectors&) = delete;
  NodeCollectors& operator=(const NodeCollectors&) = delete;

  /// Runs every enabled collector, then writes node_scrape_collector_{success,duration_seconds}.
  void collect(agent::sdk::MetricsWriter& out);

  // One collector each; false = failed (nothing written). Public for tests.
  bool collectCpu(agent::sdk::MetricsWriter& out);
  bool collectStat(agent::sdk::MetricsWriter& out);
  bool collectMeminfo(agent::sdk::MetricsWriter& out);
  bool collectLoadavg(agent::sdk::MetricsWriter& out);
  bool collectFilesystem(agent::sdk::MetricsWriter& out);
  bool collectNetdev(agent::sdk::MetricsWriter& out);
  bool collectDiskstats(agent::sdk::MetricsWriter& out);
  bool collectPressure(agent::sdk::MetricsWriter& out);
  bool collectUname(agent::sdk::MetricsWriter& out);
  bool collectTime(agent::sdk::MetricsWriter& out);

  const NodeConfig& config() const { return config_; }

 private:
  using Fn = bool (NodeCollectors::*)(agent::sdk::MetricsWriter&);
  struct Entry {
    std::string name;
    Fn fn;
    bool ok = false;
    double seconds = 0;
  };
  bool read(const std::string& root, std::string_view rel, std::string& buf);
  /// /proc/stat, read once per scrape for both the cpu and stat collectors.
  bool procStat();
  /// Refreshes mounts_ (the kept mount points) when the mount table changed; false if unreadable.
  bool refreshMounts();

  struct MountStat {
    std::string device, mount, fstype;
    bool ro = false, error = false;
    uint64_t bsize = 0, blocks = 0, bfree = 0, bavail = 0, files = 0, ffree = 0;
  };

  struct OpenFile {
    std::string path;
    int fd;
  };
  static constexpr size_t kMaxOpenFiles = 32;  // the dozen files read per scrape, and spare

  NodeConfig config_;
  Clock wall_clock_;
  std::vector<OpenFile> files_;  // read() keeps descriptors open between scrapes
  std::vector<Entry> entries_;
  // Scratch kept between scrapes so a steady-state scrape does not allocate for them.
  std::string path_, buf_, buf2_, stat_buf_, tmp_, tmp2_;
  bool stat_read_ = false, stat_ok_ = false;
  agent::sdk::Labels labels1_, labels2_, labels3_;
  std::vector<double> values_;
  std::vector<std::string> names_;
  std::vector<MountStat> mounts_;
  size_t mount_count_ = 0;
  int clocksources_ = -1;  // clocksource devices found by the last probe; -1: probe again
  int mounts_fd_ = -1;  // kept open: poll() flags a change of the mount table (POLLPRI)
  bool mounts_regular_file_ = false;  // fixtures: no change notification, re-read every time
};

}  // namespace zlh::plugins::metrics
