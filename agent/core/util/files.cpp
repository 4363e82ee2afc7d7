#include "agent/core/util/files.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <random>
#include <sstream>

namespace zlh::agent::core {
namespace fs = std::filesystem;
namespace {

sdk::Error ioError(const std::string& what, int err) {
  return sdk::makeError(sdk::ErrorCode::kInternal, what + ": " + std::strerror(err));
}

}  // namespace

sdk::Status writeFileAtomic(const fs::path& path, const std::string& data, mode_t mode) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const fs::path tmp = path.string() + ".tmp." + std::to_string(rng() % 1000000);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return ioError("create " + tmp.string(), errno);
  ::fchmod(fd, mode);  // whatever the umask
  auto fail = [&](const std::string& what) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return ioError(what + " " + tmp.string(), err);
  };
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("write");
    off += size_t(n);
  }
  if (::fsync(fd) != 0) return fail("fsync");
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return ioError("rename " + tmp.string() + " to " + path.string(), err);
  }
  int dfd = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

sdk::Result<std::string> readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT)
      return sdk::makeError(sdk::ErrorCode::kNotFound, path.string() + ": absent");
    return ioError("read " + path.string(), errno);
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

sdk::Status makeDir(const fs::path& dir, mode_t mode) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return sdk::makeError(sdk::ErrorCode::kInternal,
                          "create " + dir.string() + ": " + ec.message());
  if (::chmod(dir.c_str(), mode) != 0) return ioError("chmod " + dir.string(), errno);
  return {};
}

std::string nowRfc3339() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms % 1000));
  return buf;
}

bool processAlive(pid_t pid) {
  if (pid <= 0) return false;
  if (::kill(pid, 0) != 0 && errno == ESRCH) return false;
  auto stat = readFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat.ok()) return false;
  // "<pid> (<comm>) <state> ...": comm may hold spaces and parens, so look after the last ')'.
  auto close = stat.value().rfind(')');
  if (close == std::string::npos || close + 2 >= stat.value().size()) return true;
  char state = stat.value()[close + 2];
  return state != 'Z' && state != 'X';
}

std::optional<pid_t> readPidFile(const fs::path& path) {
  auto text = readFile(path);
  if (!text.ok()) return std::nullopt;
  try {
    long v = std::stol(text.value());
    if (v <= 0) return std::nullopt;
    return static_cast<pid_t>(v);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace zlh::agent::core
