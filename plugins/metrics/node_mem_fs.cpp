// Collectors meminfo, loadavg and filesystem.
#include <sys/statfs.h>

#include <algorithm>

#include "plugins/metrics/node_collectors.h"
#include "plugins/metrics/proc_text.h"

namespace zlh::plugins::metrics {
namespace sdk = agent::sdk;

namespace {
// node_exporter's meminfo key: "Active(anon)" -> "Active_anon" (`\((.*)\)` -> `_$1`).
void meminfoName(std::string_view key, bool bytes, std::string& out) {
  out.assign("node_memory_");
  for (char ch : key) {
    if (ch == '(')
      out += '_';
    else if (ch != ')')
      out += ch;
  }
  if (bytes) out += "_bytes";
}
}  // namespace

bool NodeCollectors::collectMeminfo(sdk::MetricsWriter& out) {
  if (!read(config_.procfs, "meminfo", buf_) || buf_.empty()) return false;
  // Validate first so that a bad file writes nothing.
  values_.clear();
  TextCursor c(buf_);
  while (!c.atEnd()) {
    std::string_view line = c.line();
    FieldSplitter f(line);
    std::string_view key = f.next(), num = f.next(), unit = f.next();
    if (key.empty()) continue;
    uint64_t v = 0;
    if (key.back() != ':' || !parseU64(num, v) || !(unit.empty() || unit == "kB")) return false;
    values_.push_back(unit.empty() ? double(v) : double(v) * 1024.0);
  }
  if (values_.empty()) return false;
  TextCursor again(buf_);
  size_t i = 0;
  std::string& help = tmp2_;
  while (!again.atEnd()) {
    std::string_view line = again.line();
    FieldSplitter f(line);
    std::string_view key = f.next();
    if (key.empty()) continue;
    f.next();
    const bool bytes = !f.next().empty();
    meminfoName(key.substr(0, key.size() - 1), bytes, tmp_);
    help.assign("Memory information field ").append(tmp_, 12, std::string::npos).append(".");
    out.gauge(tmp_, help, values_[i++]);
  }
  return true;
}

bool NodeCollectors::collectLoadavg(sdk::MetricsWriter& out) {
  if (!read(config_.procfs, "loadavg", buf_)) return false;
  FieldSplitter f(buf_);
  double l1 = 0, l5 = 0, l15 = 0;
  if (!parseDouble(f.next(), l1) || !parseDouble(f.next(), l5) || !parseDouble(f.next(), l15))
    return false;
  out.gauge("node_load1", "1m load average.", l1);
  out.gauge("node_load5", "5m load average.", l5);
  out.gauge("node_load15", "15m load average.", l15);
  return true;
}

bool NodeCollectors::collectFilesystem(sdk::MetricsWriter& out) {
  // node_exporter reads the mounts of PID 1 (the host's view), falling back to our own.
  if (!read(config_.procfs, "1/mounts", buf_) && !read(config_.procfs, "self/mounts", buf_))
    return false;
  using Fs = MountStat;
  // Parse every line first (statfs per kept mount), then write family by family.
  std::vector<Fs>& mounts = mounts_;  // reused between scrapes
  size_t n = 0;
  TextCursor c(buf_);
  while (!c.atEnd()) {
    std::string_view line = c.line();
    FieldSplitter f(line);
    std::string_view dev = f.next(), mp = f.next(), type = f.next(), opts = f.next();
    if (opts.empty()) continue;
    unescapeMountField(mp, tmp_);
    if (mountPointExcluded(tmp_, config_.mount_points_exclude)) continue;
    if (std::find(config_.fs_types_exclude.begin(), config_.fs_types_exclude.end(), type) !=
        config_.fs_types_exclude.end())
      continue;
    bool dup = false;
    for (size_t i = 0; i < n && !dup; ++i)
      dup = mounts[i].mount == tmp_ && mounts[i].device == dev && mounts[i].fstype == type;
    if (dup) continue;
    if (mounts.size() <= n) mounts.emplace_back();
    Fs& fs = mounts[n++];
    fs.device.assign(dev);
    fs.mount.assign(tmp_);
    fs.fstype.assign(type);
    fs.ro = false;
    for (FieldSplitter o(opts); !fs.ro;) {  // options are comma-separated
      std::string_view all = o.next();
      if (all.empty()) break;
      size_t p = 0;
      while (p <= all.size()) {
        size_t q = all.find(',', p);
        if (q == std::string_view::npos) q = all.size();
        if (all.substr(p, q - p) == "ro") fs.ro = true;
        p = q + 1;
      }
    }
    const bool prefix = !config_.rootfs.empty() && config_.rootfs != "/";
    path_.assign(prefix ? config_.rootfs : std::string()).append(fs.mount);
    struct statfs st {};
    fs.error = ::statfs(path_.c_str(), &st) != 0;
    fs.bsize = uint64_t(st.f_bsize);
    fs.blocks = st.f_blocks;
    fs.bfree = st.f_bfree;
    fs.bavail = st.f_bavail;
    fs.files = st.f_files;
    fs.ffree = st.f_ffree;
  }
  sdk::Labels& l = labels3_;
  l.resize(3);
  l[0].first = "device";
  l[1].first = "fstype";
  l[2].first = "mountpoint";
  auto each = [&](auto&& fn) {
    for (size_t i = 0; i < n; ++i) {
      l[0].second = mounts[i].device;
      l[1].second = mounts[i].fstype;
      l[2].second = mounts[i].mount;
      fn(mounts[i]);
    }
  };
  each([&](const Fs& fs) {
    out.gauge("node_filesystem_device_error",
              "Whether an error occurred while getting statistics for the given device.",
              fs.error ? 1 : 0, l);
  });
  each([&](const Fs& fs) {
    out.gauge("node_filesystem_readonly", "Filesystem read-only status.", fs.ro ? 1 : 0, l);
  });
  auto ok = [&](auto&& fn) {
    each([&](const Fs& fs) {
      if (!fs.error) fn(fs);
    });
  };
  ok([&](const Fs& fs) {
    out.gauge("node_filesystem_size_bytes", "Filesystem size in bytes.",
              double(fs.blocks) * double(fs.bsize), l);
  });
  ok([&](const Fs& fs) {
    out.gauge("node_filesystem_free_bytes", "Filesystem free space in bytes.",
              double(fs.bfree) * double(fs.bsize), l);
  });
  ok([&](const Fs& fs) {
    out.gauge("node_filesystem_avail_bytes",
              "Filesystem space available to non-root users in bytes.",
              double(fs.bavail) * double(fs.bsize), l);
  });
  ok([&](const Fs& fs) {
    out.gauge("node_filesystem_files", "Filesystem total file nodes.", double(fs.files), l);
  });
  ok([&](const Fs& fs) {
    out.gauge("node_filesystem_files_free", "Filesystem total free file nodes.",
              double(fs.ffree), l);
  });
  return true;
}

}  // namespace zlh::plugins::metrics
