// Collectors pressure (/proc/pressure), uname and time.
#include <dirent.h>
#include <sys/utsname.h>

#include <cstring>
#include <ctime>

#include "plugins/metrics/node_collectors.h"
#include "plugins/metrics/proc_text.h"

namespace zlh::plugins::metrics {
namespace sdk = agent::sdk;

namespace {
// "some avg10=.. avg60=.. avg300=.. total=<µs>" / "full ...": the totals, in seconds.
bool parsePsi(std::string_view text, double& some, double& full, bool& has_full) {
  bool has_some = false;
  has_full = false;
  TextCursor c(text);
  while (!c.atEnd()) {
    std::string_view line = c.line();
    FieldSplitter f(line);
    std::string_view kind = f.next();
    for (std::string_view tok = f.next(); !tok.empty(); tok = f.next()) {
      if (tok.substr(0, 6) != "total=") continue;
      uint64_t us = 0;
      if (!parseU64(tok.substr(6), us)) return false;
      if (kind == "some") {
        some = double(us) / 1e6;
        has_some = true;
      } else if (kind == "full") {
        full = double(us) / 1e6;
        has_full = true;
      }
    }
  }
  return has_some;
}
}  // namespace

bool NodeCollectors::collectPressure(sdk::MetricsWriter& out) {
  // node_exporter: cpu "some" only (a cpu "full" line exists since Linux 5.13 but is not
  // exported), io and memory both.
  double cpu = 0, io_some = 0, io_full = 0, mem_some = 0, mem_full = 0, unused = 0;
  bool f1 = false, f2 = false, f3 = false;
  if (!read(config_.procfs, "pressure/cpu", buf_) || !parsePsi(buf_, cpu, unused, f1)) return false;
  if (!read(config_.procfs, "pressure/io", buf_) || !parsePsi(buf_, io_some, io_full, f2) || !f2)
    return false;
  if (!read(config_.procfs, "pressure/memory", buf_) || !parsePsi(buf_, mem_some, mem_full, f3) ||
      !f3)
    return false;
  out.counter("node_pressure_cpu_waiting_seconds_total",
              "Total time in seconds that processes have waited for CPU time", cpu);
  out.counter("node_pressure_io_waiting_seconds_total",
              "Total time in seconds that processes have waited due to IO congestion", io_some);
  out.counter("node_pressure_io_stalled_seconds_total",
              "Total time in seconds no process could make progress due to IO congestion", io_full);
  out.counter("node_pressure_memory_waiting_seconds_total",
              "Total time in seconds that processes have waited for memory", mem_some);
  out.counter("node_pressure_memory_stalled_seconds_total",
              "Total time in seconds no process could make progress due to memory congestion",
              mem_full);
  return true;
}

bool NodeCollectors::collectUname(sdk::MetricsWriter& out) {
  struct utsname u {};
  if (::uname(&u) != 0) return false;
  // Label names in node_exporter's (sorted) order.
  sdk::Labels l = {{"domainname", u.domainname}, {"machine", u.machine}, {"nodename", u.nodename},
                   {"release", u.release},       {"sysname", u.sysname}, {"version", u.version}};
  out.gauge("node_uname_info", "Labeled system information as provided by the uname system call.",
            1, l);
  return true;
}

bool NodeCollectors::collectTime(sdk::MetricsWriter& out) {
  const double now = wall_clock_();
  out.gauge("node_time_seconds", "System time in seconds since epoch (1970).", now);
  const time_t t = time_t(now);
  struct tm local {};
  if (localtime_r(&t, &local)) {
    sdk::Labels& l = labels1_;
    l.resize(1);
    l[0].first = "time_zone";
    l[0].second = local.tm_zone ? local.tm_zone : "";
    out.gauge("node_time_zone_offset_seconds", "System time zone offset in seconds.",
              double(local.tm_gmtoff), l);
  }
  // Clock sources, like node_exporter: /sys/devices/system/clocksource/clocksource<N>/. Their
  // absence is not a failure (node_exporter only logs it).
  sdk::Labels& l = labels2_;
  l.resize(2);
  l[0].first = "clocksource";
  l[1].first = "device";
  // The devices are counted once (probing past the last costs a failed open per scrape) and
  // again only after one of them could not be read.
  const bool probe = clocksources_ < 0;
  int dev = 0;
  for (; dev < (probe ? 64 : clocksources_); ++dev) {
    tmp2_.assign("devices/system/clocksource/clocksource").append(std::to_string(dev));
    const size_t base = tmp2_.size();
    tmp2_.append("/available_clocksource");
    bool ok = read(config_.sysfs, tmp2_, buf_);
    tmp2_.resize(base);
    tmp2_.append("/current_clocksource");
    ok = ok && read(config_.sysfs, tmp2_, buf2_);
    if (!ok) break;
    l[1].second = std::to_string(dev);
    FieldSplitter f(buf_);
    for (std::string_view src = f.next(); !src.empty(); src = f.next()) {
      while (!src.empty() && src.back() == '\n') src.remove_suffix(1);
      if (src.empty()) continue;
      l[0].second.assign(src);
      out.gauge("node_time_clocksource_available_info",
                "Available clocksources read from '/sys/devices/system/clocksource'.", 1, l);
    }
    std::string_view cur(buf2_);
    while (!cur.empty() && (cur.back() == '\n' || cur.back() == ' ')) cur.remove_suffix(1);
    l[0].second.assign(cur);
    out.gauge("node_time_clocksource_current_info",
              "Current clocksource read from '/sys/devices/system/clocksource'.", 1, l);
  }
  clocksources_ = probe || dev == clocksources_ ? dev : -1;
  return true;
}

}  // namespace zlh::plugins::metrics
