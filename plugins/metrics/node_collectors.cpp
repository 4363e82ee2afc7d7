// NodeCollectors: the collector table, the per-scrape loop and the /proc/stat collectors (cpu,
// stat). The other collectors live in node_mem_fs.cpp, node_net_disk.cpp and node_misc.cpp.
#include "plugins/metrics/node_collectors.h"

#include <fcntl.h>
#include <sys/time.h>
#include <unistd.h>

#include "plugins/metrics/proc_text.h"

namespace zlh::plugins::metrics {
namespace sdk = agent::sdk;

namespace {
// /proc/stat counts in USER_HZ, which Linux fixes at 100 for user space (as node_exporter's
// procfs library assumes).
constexpr double kUserHz = 100.0;

double wallNow() {
  timeval tv{};
  gettimeofday(&tv, nullptr);
  return double(tv.tv_sec) + double(tv.tv_usec) / 1e6;
}

double steadySeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

std::vector<std::string> NodeConfig::defaultMountPointsExclude() {
  // Debian's node_exporter 1.5 default (upstream's plus /run, /mnt, /media):
  // ^/(dev|proc|run|sys|mnt|media|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)
  return {"/dev",
          "/proc",
          "/run",
          "/sys",
          "/mnt",
          "/media",
          "/var/lib/docker/",
          "/var/lib/containers/storage/"};
}

std::vector<std::string> NodeConfig::defaultFsTypesExclude() {
  return {"autofs",     "binfmt_misc", "bpf",       "cgroup",   "cgroup2",   "configfs",
          "debugfs",    "devpts",      "devtmpfs",  "fusectl",  "hugetlbfs", "iso9660",
          "mqueue",     "nsfs",        "overlay",   "proc",     "procfs",    "pstore",
          "rpc_pipefs", "securityfs",  "selinuxfs", "squashfs", "sysfs",     "tracefs"};
}

const std::vector<std::string>& allCollectorNames() {
  static const std::vector<std::string> names = {"cpu",        "stat",   "meminfo",   "loadavg",
                                                 "filesystem", "netdev", "diskstats", "pressure",
                                                 "uname",      "time"};
  return names;
}

bool mountPointExcluded(std::string_view mp, const std::vector<std::string>& rules) {
  for (const auto& rule : rules) {
    std::string_view r(rule);
    if (!r.empty() && r.back() == '/') {
      // "P/": strictly below P (node_exporter's "P/.+").
      if (mp.size() > r.size() && mp.substr(0, r.size()) == r) return true;
      continue;
    }
    if (mp.substr(0, r.size()) == r && (mp.size() == r.size() || mp[r.size()] == '/')) return true;
  }
  return false;
}

bool diskExcluded(std::string_view d) {
  auto digitsFrom = [&](size_t i) {  // d[i..] is one or more digits, to the end
    if (i >= d.size()) return false;
    for (size_t j = i; j < d.size(); ++j)
      if (d[j] < '0' || d[j] > '9') return false;
    return true;
  };
  auto lower = [](char c) { return c >= 'a' && c <= 'z'; };
  for (std::string_view p : {"ram", "loop", "fd"})
    if (d.substr(0, p.size()) == p && digitsFrom(p.size())) return true;
  // (h|s|v|xv)d[a-z]\d+
  size_t i = d.substr(0, 2) == "xv"                                        ? 2
             : (!d.empty() && (d[0] == 'h' || d[0] == 's' || d[0] == 'v')) ? 1
                                                                           : 0;
  if (i > 0 && i + 1 < d.size() && d[i] == 'd' && lower(d[i + 1]) && digitsFrom(i + 2)) return true;
  // nvme\d+n\d+p\d+
  if (d.substr(0, 4) == "nvme") {
    size_t j = 4, k;
    for (k = j; k < d.size() && d[k] >= '0' && d[k] <= '9'; ++k) {
    }
    if (k == j || k >= d.size() || d[k] != 'n') return false;
    j = k + 1;
    for (k = j; k < d.size() && d[k] >= '0' && d[k] <= '9'; ++k) {
    }
    if (k == j || k >= d.size() || d[k] != 'p') return false;
    return digitsFrom(k + 1);
  }
  return false;
}

NodeCollectors::NodeCollectors(NodeConfig config, Clock wall_clock)
    : config_(std::move(config)), wall_clock_(wall_clock ? std::move(wall_clock) : wallNow) {
  static const std::pair<const char*, Fn> kAll[] = {
      {"cpu", &NodeCollectors::collectCpu},
      {"stat", &NodeCollectors::collectStat},
      {"meminfo", &NodeCollectors::collectMeminfo},
      {"loadavg", &NodeCollectors::collectLoadavg},
      {"filesystem", &NodeCollectors::collectFilesystem},
      {"netdev", &NodeCollectors::collectNetdev},
      {"diskstats", &NodeCollectors::collectDiskstats},
      {"pressure", &NodeCollectors::collectPressure},
      {"uname", &NodeCollectors::collectUname},
      {"time", &NodeCollectors::collectTime}};
  const auto& wanted = config_.collectors.empty() ? allCollectorNames() : config_.collectors;
  for (const auto& name : wanted)
    for (const auto& [n, fn] : kAll)
      if (name == n) entries_.push_back(Entry{name, fn});
  labels1_.resize(1);
  labels1_[0].first = "collector";
}

NodeCollectors::~NodeCollectors() {
  if (mounts_fd_ >= 0) ::close(mounts_fd_);
  for (const auto& f : files_) ::close(f.fd);
}

void NodeCollectors::collect(sdk::MetricsWriter& out) {
  stat_read_ = false;
  for (auto& e : entries_) {
    const double t0 = steadySeconds();
    e.ok = (this->*e.fn)(out);
    e.seconds = steadySeconds() - t0;
  }
  sdk::Labels& l = labels1_;
  l.resize(1);
  l[0].first = "collector";
  for (const auto& e : entries_) {
    l[0].second = e.name;
    out.gauge("node_scrape_collector_duration_seconds",
              "node_exporter: Duration of a collector scrape.", e.seconds, l);
  }
  for (const auto& e : entries_) {
    l[0].second = e.name;
    out.gauge("node_scrape_collector_success", "node_exporter: Whether a collector succeeded.",
              e.ok ? 1 : 0, l);
  }
}

bool NodeCollectors::read(const std::string& root, std::string_view rel, std::string& buf) {
  path_.assign(root);
  if (!path_.empty() && path_.back() != '/') path_ += '/';
  path_.append(rel);
  // The descriptors stay open: a pread() at offset 0 makes procfs and sysfs generate the file
  // afresh, and skipping open()/close() (the path walk) saves about a third of a collector's
  // kernel time. A file that cannot be opened is tried again on the next scrape.
  for (auto& f : files_) {
    if (f.path != path_) continue;
    if (readFdInto(f.fd, buf)) return true;
    ::close(f.fd);  // e.g. a device that went away: open it again below
    f = std::move(files_.back());
    files_.pop_back();
    break;
  }
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    buf.clear();
    return false;
  }
  if (!readFdInto(fd, buf)) {
    ::close(fd);
    return false;
  }
  if (files_.size() < kMaxOpenFiles)
    files_.push_back(OpenFile{path_, fd});
  else
    ::close(fd);
  return true;
}

bool NodeCollectors::procStat() {
  if (!stat_read_) {
    stat_read_ = true;
    stat_ok_ = read(config_.procfs, "stat", stat_buf_) && !stat_buf_.empty();
  }
  return stat_ok_;
}

bool NodeCollectors::collectCpu(sdk::MetricsWriter& out) {
  if (!procStat()) return false;
  // "cpuN user nice system idle iowait irq softirq steal guest guest_nice": 10 values per CPU.
  values_.clear();
  names_.clear();
  TextCursor c(stat_buf_);
  while (!c.atEnd()) {
    std::string_view line = c.line();
    if (line.size() < 4 || line.substr(0, 3) != "cpu" || line[3] == ' ') continue;
    FieldSplitter f(line);
    std::string_view name = f.next();
    names_.emplace_back(name.substr(3));
    for (int i = 0; i < 10; ++i) {
      uint64_t v = 0;
      std::string_view tok = f.next();
      if (tok.empty() && i >= 8) break;  // old kernels: no guest columns
      if (!parseU64(tok, v)) return false;
      values_.push_back(double(v) / kUserHz);
    }
    while (values_.size() < names_.size() * 10) values_.push_back(0);
  }
  if (names_.empty()) return false;
  static const char* const kModes[] = {"user",   "nice", "system",  "idle",
                                       "iowait", "irq",  "softirq", "steal"};
  sdk::Labels& l = labels2_;
  l.resize(2);
  l[0].first = "cpu";
  l[1].first = "mode";
  for (size_t cpu = 0; cpu < names_.size(); ++cpu) {
    l[0].second = names_[cpu];
    for (int m = 0; m < 8; ++m) {
      l[1].second = kModes[m];
      out.counter("node_cpu_seconds_total", "Seconds the CPUs spent in each mode.",
                  values_[cpu * 10 + size_t(m)], l);
    }
  }
  for (size_t cpu = 0; cpu < names_.size(); ++cpu) {
    l[0].second = names_[cpu];
    for (int m = 0; m < 2; ++m) {
      l[1].second = kModes[m];
      out.counter("node_cpu_guest_seconds_total",
                  "Seconds the CPUs spent in guests (VMs) for each mode.",
                  values_[cpu * 10 + 8 + size_t(m)], l);
    }
  }
  return true;
}

bool NodeCollectors::collectStat(sdk::MetricsWriter& out) {
  if (!procStat()) return false;
  uint64_t intr = 0, ctxt = 0, btime = 0, forks = 0, running = 0, blocked = 0;
  int seen = 0;
  TextCursor c(stat_buf_);
  while (!c.atEnd()) {
    std::string_view key = c.field();
    std::string_view val = c.field();
    c.nextLine();
    uint64_t* dst = key == "intr"            ? &intr
                    : key == "ctxt"          ? &ctxt
                    : key == "btime"         ? &btime
                    : key == "processes"     ? &forks
                    : key == "procs_running" ? &running
                    : key == "procs_blocked" ? &blocked
                                             : nullptr;
    if (!dst) continue;
    if (!parseU64(val, *dst)) return false;
    ++seen;
  }
  if (seen < 6) return false;
  out.counter("node_intr_total", "Total number of interrupts serviced.", double(intr));
  out.counter("node_context_switches_total", "Total number of context switches.", double(ctxt));
  out.counter("node_forks_total", "Total number of forks.", double(forks));
  out.gauge("node_boot_time_seconds", "Node boot time, in unixtime.", double(btime));
  out.gauge("node_procs_running", "Number of processes in runnable state.", double(running));
  out.gauge("node_procs_blocked", "Number of processes blocked waiting for I/O to complete.",
            double(blocked));
  return true;
}

}  // namespace zlh::plugins::metrics
