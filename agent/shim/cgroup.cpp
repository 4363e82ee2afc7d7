#include "agent/shim/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <sstream>
#include <vector>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

namespace zlh::agent::shim {
namespace {

Error sysError(const std::string& what) {
  return Error{ErrorCode::kInternal, what + ": " + strerror(errno)};
}

std::optional<std::string> readSmallFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > 1 << 20) break;
  }
  ::close(fd);
  return out;
}

Status writeFile(const std::string& path, const std::string& value) {
  int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);  // as `echo v > file`
  if (fd < 0) return sysError("open " + path);
  ssize_t n = ::write(fd, value.data(), value.size());
  auto err = n == static_cast<ssize_t>(value.size()) ? Status{} : Status{sysError("write " + path)};
  ::close(fd);
  return err;
}

bool hasWord(const std::string& text, const std::string& word) {
  std::istringstream in(text);
  std::string w;
  while (in >> w) {
    if (w == word) return true;
  }
  return false;
}

void sleepMs(int ms) {
  timespec ts{0, ms * 1000000L};
  ::nanosleep(&ts, nullptr);
}

}  // namespace

std::string cgroupUnavailableReason(const std::string& root, const Limits& limits) {
  struct statfs fs {};
  if (::statfs(root.c_str(), &fs) != 0) return root + ": " + strerror(errno);
  if (static_cast<unsigned long>(fs.f_type) != CGROUP2_SUPER_MAGIC) {
    return root + " is not a cgroup2 mount";
  }
  auto enabled = readSmallFile(root + "/cgroup.subtree_control");
  if (!enabled) return "cannot read " + root + "/cgroup.subtree_control";
  std::vector<std::string> needed;
  if (limits.memory_max_bytes != 0) needed.push_back("memory");
  if (limits.cpu_max_pct != 0) needed.push_back("cpu");
  if (limits.pids_max != 0) needed.push_back("pids");
  for (const auto& controller : needed) {
    if (!hasWord(*enabled, controller)) {
      auto available = readSmallFile(root + "/cgroup.controllers").value_or("");
      while (!available.empty() && available.back() == '\n') available.pop_back();
      return "controller " + controller + " not enabled in " + root +
             "/cgroup.subtree_control (available: " + (available.empty() ? "none" : available) +
             ")";
    }
  }
  if (::access(root.c_str(), W_OK) != 0) return root + " is not writable";
  return "";
}

std::string cpuMaxValue(uint32_t pct) {
  // 100% of one CPU is a quota of the whole 100 ms period.
  return std::to_string(uint64_t{pct} * 1000) + " 100000";
}

Status writeLimitFiles(const std::string& dir, const Limits& limits) {
  if (limits.memory_max_bytes != 0) {
    auto s = writeFile(dir + "/memory.max", std::to_string(limits.memory_max_bytes));
    if (!s.ok()) return s;
    // Best effort: one OOM kill takes the whole instance, not a random helper process.
    (void)writeFile(dir + "/memory.oom.group", "1");
  }
  if (limits.cpu_max_pct != 0) {
    if (auto s = writeFile(dir + "/cpu.max", cpuMaxValue(limits.cpu_max_pct)); !s.ok()) return s;
  }
  if (limits.pids_max != 0) {
    if (auto s = writeFile(dir + "/pids.max", std::to_string(limits.pids_max)); !s.ok()) return s;
  }
  return {};
}

Status Cgroup::create(const std::string& root, const std::string& name, const Limits& limits) {
  std::string path = root + "/" + name;
  if (::mkdir(path.c_str(), 0755) != 0) {
    if (errno != EEXIST) return sysError("mkdir " + path);
    // A leftover of an earlier run: reusable only when empty (rmdir refuses otherwise).
    if (::rmdir(path.c_str()) != 0) return sysError("remove leftover cgroup " + path);
    if (::mkdir(path.c_str(), 0755) != 0) return sysError("mkdir " + path);
  }
  if (auto s = writeLimitFiles(path, limits); !s.ok()) {
    ::rmdir(path.c_str());
    return s;
  }
  path_ = path;
  return {};
}

Status Cgroup::addProcess(pid_t pid) {
  if (!active()) return Error{ErrorCode::kFailedPrecondition, "no cgroup"};
  return writeFile(path_ + "/cgroup.procs", std::to_string(pid));
}

std::optional<uint64_t> Cgroup::oomKills() const {
  if (!active()) return std::nullopt;
  auto events = readSmallFile(path_ + "/memory.events");
  if (!events) return std::nullopt;
  std::istringstream in(*events);
  std::string key;
  uint64_t value = 0;
  while (in >> key >> value) {
    if (key == "oom_kill") return value;
  }
  return std::nullopt;
}

void Cgroup::killAll() {
  if (!active()) return;
  if (writeFile(path_ + "/cgroup.kill", "1").ok()) return;
  auto procs = readSmallFile(path_ + "/cgroup.procs").value_or("");
  std::istringstream in(procs);
  pid_t pid = 0;
  while (in >> pid) ::kill(pid, SIGKILL);
}

Status Cgroup::remove() {
  if (!active()) return {};
  for (int attempt = 0; attempt < 100; ++attempt) {
    if (::rmdir(path_.c_str()) == 0 || errno == ENOENT) {
      path_.clear();
      return {};
    }
    if (errno != EBUSY) break;
    sleepMs(10);
  }
  auto err = sysError("remove cgroup " + path_);
  path_.clear();
  return err;
}

}  // namespace zlh::agent::shim
