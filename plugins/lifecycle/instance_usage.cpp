#include "plugins/lifecycle/instance_usage.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <ctime>

namespace zlh::plugins::lifecycle {
namespace {

constexpr double kUserHz = 100.0;  // Linux fixes USER_HZ at 100 for /proc

bool readSmall(const std::string& path, std::string& out) {
  out.clear();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, size_t(n));
  }
  ::close(fd);
  return true;
}

bool toU64(std::string_view s, uint64_t& v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

struct Proc {
  int ppid = 0;
  uint64_t ticks = 0;  // utime + stime + cutime + cstime
};

// /proc/<pid>/stat: "pid (comm) S ppid ... utime stime cutime cstime ..."; comm may hold spaces
// and parentheses, so fields are counted from the last ')'.
bool parseStat(const std::string& text, Proc& p) {
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return false;
  std::string_view rest(text);
  rest.remove_prefix(close + 1);
  uint64_t f[15] = {};
  int i = 0;
  size_t pos = 0;
  while (i < 15 && pos < rest.size()) {
    while (pos < rest.size() && rest[pos] == ' ') ++pos;
    const size_t start = pos;
    while (pos < rest.size() && rest[pos] != ' ') ++pos;
    std::string_view tok = rest.substr(start, pos - start);
    if (i > 0 && !toU64(tok, f[i]) && tok.front() != '-') return false;  // [0] is the state
    ++i;
  }
  if (i < 15) return false;
  p.ppid = int(f[1]);
  p.ticks = f[11] + f[12] + f[13] + f[14];
  return true;
}

uint64_t rssAnonBytes(const std::string& status) {
  const size_t at = status.find("\nRssAnon:");
  if (at == std::string::npos) return 0;
  size_t p = at + 9;
  while (p < status.size() && (status[p] == ' ' || status[p] == '\t')) ++p;
  size_t e = p;
  while (e < status.size() && status[e] >= '0' && status[e] <= '9') ++e;
  uint64_t kib = 0;
  return toU64(std::string_view(status).substr(p, e - p), kib) ? kib * 1024 : 0;
}

}  // namespace

std::map<int, ProcessTreeUsage> processTreeUsage(const std::string& procfs,
                                                 const std::vector<int>& roots) {
  std::map<int, ProcessTreeUsage> out;
  if (roots.empty()) return out;
  std::map<int, Proc> procs;
  std::multimap<int, int> children;
  if (DIR* d = ::opendir(procfs.c_str())) {
    std::string text;
    while (dirent* e = ::readdir(d)) {
      uint64_t pid = 0;
      if (!toU64(e->d_name, pid) || pid == 0) continue;
      Proc p;
      if (!readSmall(procfs + "/" + e->d_name + "/stat", text) || !parseStat(text, p)) continue;
      procs[int(pid)] = p;
      children.emplace(p.ppid, int(pid));
    }
    ::closedir(d);
  }
  std::string status;
  for (int root : roots) {
    if (!procs.count(root)) continue;
    ProcessTreeUsage u;
    std::vector<int> stack{root};
    while (!stack.empty() && u.processes < 100000) {
      const int pid = stack.back();
      stack.pop_back();
      u.cpu_seconds += double(procs[pid].ticks) / kUserHz;
      if (readSmall(procfs + "/" + std::to_string(pid) + "/status", status))
        u.rss_anon_bytes += rssAnonBytes(status);
      ++u.processes;
      auto [b, e] = children.equal_range(pid);
      for (auto it = b; it != e; ++it) stack.push_back(it->second);
    }
    out[root] = u;
  }
  return out;
}

std::optional<uint64_t> directoryUsageBytes(const std::filesystem::path& dir) {
  struct stat top {};
  if (::lstat(dir.c_str(), &top) != 0 || !S_ISDIR(top.st_mode)) return std::nullopt;
  uint64_t total = uint64_t(top.st_blocks) * 512;
  std::vector<std::string> stack{dir.string()};
  while (!stack.empty()) {
    const std::string path = std::move(stack.back());
    stack.pop_back();
    DIR* d = ::opendir(path.c_str());
    if (!d) continue;  // vanished or unreadable: what is left is still counted
    const int dfd = ::dirfd(d);
    while (dirent* e = ::readdir(d)) {
      if (!std::strcmp(e->d_name, ".") || !std::strcmp(e->d_name, "..")) continue;
      struct stat st {};
      if (::fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      if (st.st_dev != top.st_dev) continue;  // a mount below: not the instance's disk
      total += uint64_t(st.st_blocks) * 512;
      if (S_ISDIR(st.st_mode)) stack.push_back(path + "/" + e->d_name);
    }
    ::closedir(d);
  }
  return total;
}

std::optional<uint64_t> cgroupMemoryBytes(const std::string& cgroup_dir) {
  std::string text;
  if (cgroup_dir.empty() || !readSmall(cgroup_dir + "/memory.current", text)) return std::nullopt;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  uint64_t v = 0;
  if (!toU64(text, v)) return std::nullopt;
  return v;
}

std::optional<double> parseRfc3339Utc(const std::string& text) {
  struct tm tm {};
  const char* end = ::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end) return std::nullopt;
  double frac = 0;
  if (*end == '.') {
    double scale = 0.1;
    for (++end; *end >= '0' && *end <= '9'; ++end, scale /= 10) frac += (*end - '0') * scale;
  }
  if (std::strcmp(end, "Z") != 0 && std::strcmp(end, "+00:00") != 0) return std::nullopt;
  return double(::timegm(&tm)) + frac;
}

}  // namespace zlh::plugins::lifecycle
