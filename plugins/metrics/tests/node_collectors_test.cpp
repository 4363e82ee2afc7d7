#include "plugins/metrics/node_collectors.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace zlh::plugins::metrics {
namespace {
namespace sdk = agent::sdk;
namespace fs = std::filesystem;

const std::string kFixtures = ZLH_METRICS_FIXTURES;

NodeConfig fixtureConfig(const std::string& proc = kFixtures + "/proc") {
  NodeConfig c;
  c.procfs = proc;
  c.sysfs = kFixtures + "/sys";
  c.rootfs = kFixtures + "/root";
  return c;
}

bool has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

struct Scrape {
  std::string text;
  std::vector<std::string> problems;
};

Scrape run(NodeCollectors& n, bool (NodeCollectors::*fn)(sdk::MetricsWriter&),
           bool expect_ok = true) {
  sdk::MetricsWriter w;
  EXPECT_EQ((n.*fn)(w), expect_ok);
  return {w.text(), w.problems()};
}

TEST(NodeCollectors, Cpu) {
  NodeCollectors n(fixtureConfig());
  auto s = run(n, &NodeCollectors::collectCpu);
  EXPECT_TRUE(s.problems.empty());
  EXPECT_TRUE(has(s.text, "# TYPE node_cpu_seconds_total counter"));
  EXPECT_TRUE(has(s.text, "node_cpu_seconds_total{cpu=\"0\",mode=\"user\"} 12202.62"));
  EXPECT_TRUE(has(s.text, "node_cpu_seconds_total{cpu=\"1\",mode=\"steal\"} 17.29"));
  EXPECT_TRUE(has(s.text, "node_cpu_seconds_total{cpu=\"0\",mode=\"softirq\"} 8.77"));
  EXPECT_TRUE(has(s.text, "node_cpu_guest_seconds_total{cpu=\"0\",mode=\"user\"} 0.05"));
  EXPECT_TRUE(has(s.text, "node_cpu_guest_seconds_total{cpu=\"0\",mode=\"nice\"} 0.01"));
  EXPECT_EQ(s.text.find("cpu=\"\""), std::string::npos);  // the aggregate line is skipped
}

TEST(NodeCollectors, Stat) {
  NodeCollectors n(fixtureConfig());
  auto s = run(n, &NodeCollectors::collectStat);
  EXPECT_TRUE(has(s.text, "node_intr_total 21668462"));
  EXPECT_TRUE(has(s.text, "node_context_switches_total 84200071"));
  EXPECT_TRUE(has(s.text, "node_forks_total 325642"));
  EXPECT_TRUE(has(s.text, "# TYPE node_boot_time_seconds gauge"));
  EXPECT_TRUE(has(s.text, "node_boot_time_seconds 1795909239"));
  EXPECT_TRUE(has(s.text, "node_procs_running 3"));
  EXPECT_TRUE(has(s.text, "node_procs_blocked 1"));
}

TEST(NodeCollectors, Meminfo) {
  NodeCollectors n(fixtureConfig());
  auto s = run(n, &NodeCollectors::collectMeminfo);
  EXPECT_TRUE(s.problems.empty());
  EXPECT_TRUE(
      has(s.text, "# HELP node_memory_MemTotal_bytes Memory information field MemTotal_bytes."));
  EXPECT_TRUE(has(s.text, "# TYPE node_memory_MemTotal_bytes gauge"));
  EXPECT_TRUE(has(s.text, "node_memory_MemTotal_bytes 25276059648"));
  EXPECT_TRUE(has(s.text, "node_memory_MemAvailable_bytes " +
                              sdk::MetricsWriter::formatValue(20000000.0 * 1024)));
  EXPECT_TRUE(has(s.text, "node_memory_Active_anon_bytes 409600000"));
  EXPECT_TRUE(has(s.text, "node_memory_HugePages_Total 0"));  // no unit: no _bytes, no scaling
  EXPECT_TRUE(has(s.text, "node_memory_SwapFree_bytes 2147328000"));
}

TEST(NodeCollectors, Loadavg) {
  NodeCollectors n(fixtureConfig());
  auto s = run(n, &NodeCollectors::collectLoadavg);
  EXPECT_TRUE(has(s.text, "node_load1 0.39"));
  EXPECT_TRUE(has(s.text, "node_load5 0.94"));
  EXPECT_TRUE(has(s.text, "node_load15 1.12"));
  EXPECT_TRUE(s.problems.empty());
}

TEST(NodeCollectors, FilesystemExclusionsDuplicatesAndErrors) {
  NodeCollectors n(fixtureConfig());
  auto s = run(n, &NodeCollectors::collectFilesystem);
  EXPECT_TRUE(s.problems.empty());
  const std::string root = "{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"}";
  EXPECT_TRUE(has(s.text, "node_filesystem_device_error" + root + " 0"));
  EXPECT_TRUE(has(s.text, "node_filesystem_readonly" + root + " 0"));
  EXPECT_NE(s.text.find("node_filesystem_size_bytes" + root + " "), std::string::npos);
  EXPECT_NE(s.text.find("node_filesystem_files_free" + root + " "), std::string::npos);
  const std::string data = "{device=\"/dev/vdb\",fstype=\"xfs\",mountpoint=\"/data\"}";
  EXPECT_TRUE(has(s.text, "node_filesystem_readonly" + data + " 1"));
  // Listed twice in mounts, written once.
  const auto first = s.text.find("node_filesystem_readonly" + data);
  EXPECT_EQ(s.text.find("node_filesystem_readonly" + data, first + 1), std::string::npos);
  // \040 unescaped.
  EXPECT_NE(s.text.find("mountpoint=\"/srv/my games\""), std::string::npos);
  // /var/lib/docker itself is kept ("/var/lib/docker/.+" only excludes below it); it does not
  // exist under the fixture root: a device error, and no size.
  const std::string docker = "{device=\"/dev/vdd\",fstype=\"ext4\",mountpoint=\"/var/lib/docker\"}";
  EXPECT_TRUE(has(s.text, "node_filesystem_device_error" + docker + " 1"));
  EXPECT_EQ(s.text.find("node_filesystem_size_bytes" + docker), std::string::npos);
  for (const char* gone :
       {"/proc\"", "/sys\"", "/dev/shm", "/run\"", "/mnt/usb", "overlay", "cgroup"})
    EXPECT_EQ(s.text.find(gone), std::string::npos) << gone;
}

TEST(NodeCollectors, Netdev) {
  NodeCollectors n(fixtureConfig());
  auto s = run(n, &NodeCollectors::collectNetdev);
  EXPECT_TRUE(has(s.text, "# TYPE node_network_receive_bytes_total counter"));
  EXPECT_TRUE(has(s.text, "node_network_receive_bytes_total{device=\"eth0\"} 918759167"));
  EXPECT_TRUE(has(s.text, "node_network_receive_errs_total{device=\"eth0\"} 1"));
  EXPECT_TRUE(has(s.text, "node_network_receive_drop_total{device=\"eth0\"} 2"));
  EXPECT_TRUE(has(s.text, "node_network_receive_multicast_total{device=\"eth0\"} 6"));
  EXPECT_TRUE(has(s.text, "node_network_transmit_packets_total{device=\"eth0\"} 22706"));
  EXPECT_TRUE(has(s.text, "node_network_transmit_colls_total{device=\"eth0\"} 10"));
  EXPECT_TRUE(has(s.text, "node_network_transmit_compressed_total{device=\"eth0\"} 12"));
  EXPECT_TRUE(has(s.text, "node_network_transmit_bytes_total{device=\"ifb0\"} 0"));
  EXPECT_EQ(s.text.find("device=\"lo\""), std::string::npos);
}

TEST(NodeCollectors, Diskstats) {
  NodeCollectors n(fixtureConfig());
  auto s = run(n, &NodeCollectors::collectDiskstats);
  EXPECT_TRUE(has(s.text, "node_disk_read_bytes_total{device=\"vda\"} " +
                              sdk::MetricsWriter::formatValue(41348858.0 * 512)));
  EXPECT_TRUE(has(s.text, "node_disk_written_bytes_total{device=\"vda\"} " +
                              sdk::MetricsWriter::formatValue(347926416.0 * 512)));
  EXPECT_TRUE(has(s.text, "node_disk_io_time_seconds_total{device=\"vda\"} 271.224"));
  EXPECT_TRUE(has(s.text, "node_disk_io_now{device=\"vda\"} 2"));
  EXPECT_TRUE(has(s.text, "# TYPE node_disk_io_now gauge"));
  EXPECT_TRUE(has(s.text, "node_disk_flush_requests_total{device=\"vda\"} 127640"));
  EXPECT_TRUE(has(s.text, "node_disk_reads_completed_total{device=\"nvme0n1\"} 1"));
  EXPECT_TRUE(has(s.text, "node_disk_reads_completed_total{device=\"zram0\"} 0"));
  for (const char* gone : {"loop0", "vda1", "nvme0n1p1"})
    EXPECT_EQ(s.text.find(std::string("\"") + gone + "\""), std::string::npos) << gone;
}

TEST(NodeCollectors, Pressure) {
  NodeCollectors n(fixtureConfig());
  auto s = run(n, &NodeCollectors::collectPressure);
  EXPECT_TRUE(has(s.text, "node_pressure_cpu_waiting_seconds_total 8086.950583"));
  EXPECT_TRUE(has(s.text, "node_pressure_io_waiting_seconds_total 113.977169"));
  EXPECT_TRUE(has(s.text, "node_pressure_io_stalled_seconds_total 63.303324"));
  EXPECT_TRUE(has(s.text, "node_pressure_memory_waiting_seconds_total 1.5"));
  EXPECT_TRUE(has(s.text, "node_pressure_memory_stalled_seconds_total 0.5"));
  EXPECT_EQ(s.text.find("cpu_stalled"), std::string::npos);
}

TEST(NodeCollectors, UnameAndTime) {
  NodeCollectors n(fixtureConfig(), [] { return 1700000000.25; });
  auto u = run(n, &NodeCollectors::collectUname);
  EXPECT_NE(u.text.find("node_uname_info{domainname=\""), std::string::npos);
  EXPECT_NE(u.text.find("sysname=\"Linux\""), std::string::npos);
  auto t = run(n, &NodeCollectors::collectTime);
  EXPECT_TRUE(has(t.text, "node_time_seconds 1700000000.25"));
  EXPECT_NE(t.text.find("node_time_zone_offset_seconds{time_zone=\""), std::string::npos);
  EXPECT_TRUE(has(
      t.text, "node_time_clocksource_available_info{clocksource=\"kvm-clock\",device=\"0\"} 1"));
  EXPECT_TRUE(
      has(t.text, "node_time_clocksource_available_info{clocksource=\"tsc\",device=\"0\"} 1"));
  EXPECT_TRUE(
      has(t.text, "node_time_clocksource_current_info{clocksource=\"tsc\",device=\"0\"} 1"));
}

TEST(NodeCollectors, MissingFilesFailTheCollectorNotTheScrape) {
  NodeCollectors n(fixtureConfig("/nonexistent/proc"));
  for (auto fn : {&NodeCollectors::collectCpu, &NodeCollectors::collectStat,
                  &NodeCollectors::collectMeminfo, &NodeCollectors::collectLoadavg,
                  &NodeCollectors::collectFilesystem, &NodeCollectors::collectNetdev,
                  &NodeCollectors::collectDiskstats, &NodeCollectors::collectPressure}) {
    auto s = run(n, fn, false);
    EXPECT_EQ(s.text, "");  // a failed collector writes nothing
  }
  sdk::MetricsWriter w;
  n.collect(w);
  const std::string text = w.text();
  for (const char* c :
       {"cpu", "stat", "meminfo", "loadavg", "filesystem", "netdev", "diskstats", "pressure"})
    EXPECT_TRUE(has(text, std::string("node_scrape_collector_success{collector=\"") + c + "\"} 0"))
        << c;
  EXPECT_TRUE(has(text, "node_scrape_collector_success{collector=\"uname\"} 1"));
  EXPECT_TRUE(has(text, "node_scrape_collector_success{collector=\"time\"} 1"));
  EXPECT_NE(text.find("node_scrape_collector_duration_seconds{collector=\"cpu\"} "),
            std::string::npos);
  EXPECT_TRUE(w.problems().empty());
}

TEST(NodeCollectors, MalformedFilesFail) {
  const fs::path dir = fs::temp_directory_path() / "zlh_metrics_malformed";
  fs::create_directories(dir / "pressure");
  std::ofstream(dir / "meminfo") << "MemTotal: lots kB\n";
  std::ofstream(dir / "loadavg") << "0.1 x\n";
  std::ofstream(dir / "stat") << "cpu0 1 2 three\n";
  std::ofstream(dir / "pressure" / "cpu") << "some avg10=0.00\n";  // no total
  NodeCollectors n(fixtureConfig(dir.string()));
  EXPECT_EQ(run(n, &NodeCollectors::collectMeminfo, false).text, "");
  EXPECT_EQ(run(n, &NodeCollectors::collectLoadavg, false).text, "");
  EXPECT_EQ(run(n, &NodeCollectors::collectCpu, false).text, "");
  EXPECT_EQ(run(n, &NodeCollectors::collectPressure, false).text, "");
  fs::remove_all(dir);
}

TEST(NodeCollectors, CollectorSubsetInGivenOrder) {
  NodeConfig c = fixtureConfig();
  c.collectors = {"loadavg", "cpu"};
  NodeCollectors n(c);
  sdk::MetricsWriter w;
  n.collect(w);
  const std::string text = w.text();
  EXPECT_EQ(text.find("node_memory_"), std::string::npos);
  EXPECT_LT(text.find("node_load1"), text.find("node_cpu_seconds_total"));
  EXPECT_TRUE(has(text, "node_scrape_collector_success{collector=\"cpu\"} 1"));
  EXPECT_EQ(text.find("collector=\"meminfo\""), std::string::npos);
}

TEST(Exclusions, DiskDevicesLikeNodeExporter) {
  for (const char* d :
       {"ram0", "loop12", "fd0", "sda1", "hdb2", "vda1", "xvda3", "nvme0n1p1", "nvme10n2p15"})
    EXPECT_TRUE(diskExcluded(d)) << d;
  for (const char* d : {"sda", "vda", "xvda", "nvme0n1", "zram0", "dm-0", "md0", "sr0", "loop",
                        "nvme0n1p", "sdaa1", "mmcblk0p1"})
    EXPECT_FALSE(diskExcluded(d)) << d;
}

TEST(Exclusions, MountPoints) {
  const auto rules = NodeConfig::defaultMountPointsExclude();
  for (const char* m :
       {"/dev", "/dev/shm", "/proc", "/sys/fs/cgroup", "/run", "/run/user/0", "/mnt/x", "/media",
        "/var/lib/docker/overlay2/a", "/var/lib/containers/storage/x"})
    EXPECT_TRUE(mountPointExcluded(m, rules)) << m;
  for (const char* m : {"/", "/devices", "/home", "/var/lib/docker", "/srv/run", "/mntx"})
    EXPECT_FALSE(mountPointExcluded(m, rules)) << m;
}

}  // namespace
}  // namespace zlh::plugins::metrics

namespace zlh::plugins::metrics {
namespace {

TEST(NodeCollectors, KeptDescriptorsSeeNewContentAndMountChanges) {
  const fs::path dir =
      fs::temp_directory_path() / ("zlh_metrics_reread_" + std::to_string(::getpid()));
  fs::create_directories(dir / "1");
  std::ofstream(dir / "loadavg") << "0.10 0.20 0.30 1/2 3\n";
  std::ofstream(dir / "1" / "mounts") << "/dev/vda / ext4 rw 0 0\n";
  NodeConfig c;
  c.procfs = dir.string();
  c.rootfs = "/";
  c.collectors = {"loadavg", "filesystem"};
  NodeCollectors n(c);
  auto text = [&] {
    sdk::MetricsWriter w;
    n.collect(w);
    return w.text();
  };
  std::string t = text();
  EXPECT_NE(t.find("node_load1 0.1\n"), std::string::npos);
  EXPECT_EQ(t.find("mountpoint=\"/tmp\""), std::string::npos);
  std::ofstream(dir / "loadavg") << "1.50 0.20 0.30 1/2 3\n";  // same inode, new content
  std::ofstream(dir / "1" / "mounts") << "/dev/vda / ext4 rw 0 0\ntmpfs /tmp tmpfs rw 0 0\n";
  t = text();
  EXPECT_NE(t.find("node_load1 1.5\n"), std::string::npos);
  EXPECT_NE(t.find("mountpoint=\"/tmp\""), std::string::npos);
  fs::remove(dir / "loadavg");  // gone: the kept descriptor still reads, like procfs never does;
  fs::remove_all(dir);          // a missing procfs at start is covered by MissingFiles... above
}

TEST(NodeCollectors, RealProcAndSysRepeatedly) {
  NodeCollectors n(NodeConfig{});
  for (int i = 0; i < 3; ++i) {
    sdk::MetricsWriter w;
    n.collect(w);
    const std::string t = w.text();
    EXPECT_NE(t.find("node_scrape_collector_success{collector=\"cpu\"} 1\n"), std::string::npos);
    EXPECT_NE(t.find("node_scrape_collector_success{collector=\"meminfo\"} 1\n"),
              std::string::npos);
    EXPECT_NE(t.find("node_scrape_collector_success{collector=\"filesystem\"} 1\n"),
              std::string::npos);
    EXPECT_NE(t.find("node_memory_MemTotal_bytes "), std::string::npos);
    EXPECT_TRUE(w.problems().empty());
  }
}

}  // namespace
}  // namespace zlh::plugins::metrics
