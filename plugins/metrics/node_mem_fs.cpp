// Collectors meminfo, loadavg and filesystem.
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

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

bool NodeCollectors::refreshMounts() {
  if (mounts_fd_ >= 0 && !mounts_regular_file_) {
    // The kernel flags /proc/<pid>/mounts with POLLPRI|POLLERR when the mount table changes:
    // until then the parsed list stays valid, which spares generating the table every scrape.
    pollfd p{mounts_fd_, POLLPRI, 0};
    if (::poll(&p, 1, 0) == 0) return true;
  }
  if (mounts_fd_ < 0) {
    // node_exporter reads the mounts of PID 1 (the host's view), falling back to our own.
    for (const char* rel : {"1/mounts", "self/mounts"}) {
      path_.assign(config_.procfs).append("/").append(rel);
      mounts_fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
      if (mounts_fd_ >= 0) break;
    }
    if (mounts_fd_ < 0) return false;
    struct stat st {};
    mounts_regular_file_ = ::fstat(mounts_fd_, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
  }
  if (!readFdInto(mounts_fd_, buf_)) {
    ::close(mounts_fd_);
    mounts_fd_ = -1;
    return false;
  }
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
    bool dup = false;  // a mount listed twice would be a duplicate series
    for (size_t i = 0; i < n && !dup; ++i)
      dup = mounts_[i].mount == tmp_ && mounts_[i].device == dev && mounts_[i].fstype == type;
    if (dup) continue;
    if (mounts_.size() <= n) mounts_.emplace_back();
    MountStat& m = mounts_[n++];
    m.device.assign(dev);
    m.mount.assign(tmp_);
    m.fstype.assign(type);
    m.ro = false;
    for (size_t p = 0; p <= opts.size();) {  // options are comma-separated
      size_t q = opts.find(',', p);
      if (q == std::string_view::npos) q = opts.size();
      if (opts.substr(p, q - p) == "ro") m.ro = true;
      p = q + 1;
    }
  }
  mount_count_ = n;
  return true;
}

bool NodeCollectors::collectFilesystem(sdk::MetricsWriter& out) {
  if (!refreshMounts()) return false;
  const size_t n = mount_count_;
  const bool prefix = !config_.rootfs.empty() && config_.rootfs != "/";
  for (size_t i = 0; i < n; ++i) {
    MountStat& m = mounts_[i];
    path_.assign(prefix ? config_.rootfs : std::string()).append(m.mount);
    struct statfs st {};
    m.error = ::statfs(path_.c_str(), &st) != 0;
    m.bsize = uint64_t(st.f_bsize);
    m.blocks = st.f_blocks;
    m.bfree = st.f_bfree;
    m.bavail = st.f_bavail;
    m.files = st.f_files;
    m.ffree = st.f_ffree;
  }
  sdk::Labels& l = labels3_;
  l.resize(3);
  l[0].first = "device";
  l[1].first = "fstype";
  l[2].first = "mountpoint";
  auto each = [&](bool only_ok, auto&& fn) {
    for (size_t i = 0; i < n; ++i) {
      if (only_ok && mounts_[i].error) continue;
      l[0].second = mounts_[i].device;
      l[1].second = mounts_[i].fstype;
      l[2].second = mounts_[i].mount;
      fn(mounts_[i]);
    }
  };
  each(false, [&](const MountStat& m) {
    out.gauge("node_filesystem_device_error",
              "Whether an error occurred while getting statistics for the given device.",
              m.error ? 1 : 0, l);
  });
  each(false, [&](const MountStat& m) {
    out.gauge("node_filesystem_readonly", "Filesystem read-only status.", m.ro ? 1 : 0, l);
  });
  each(true, [&](const MountStat& m) {
    out.gauge("node_filesystem_size_bytes", "Filesystem size in bytes.",
              double(m.blocks) * double(m.bsize), l);
  });
  each(true, [&](const MountStat& m) {
    out.gauge("node_filesystem_free_bytes", "Filesystem free space in bytes.",
              double(m.bfree) * double(m.bsize), l);
  });
  each(true, [&](const MountStat& m) {
    out.gauge("node_filesystem_avail_bytes",
              "Filesystem space available to non-root users in bytes.",
              double(m.bavail) * double(m.bsize), l);
  });
  each(true, [&](const MountStat& m) {
    out.gauge("node_filesystem_files", "Filesystem total file nodes.", double(m.files), l);
  });
  each(true, [&](const MountStat& m) {
    out.gauge("node_filesystem_files_free", "Filesystem total free file nodes.", double(m.ffree),
              l);
  });
  return true;
}

}  // namespace zlh::plugins::metrics
