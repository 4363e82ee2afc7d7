#include "agent/shim/exit_record.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

namespace zlh::agent::shim {

nlohmann::json ExitRecord::toJson() const {
  nlohmann::json j;
  j["code"] = code ? nlohmann::json(*code) : nlohmann::json(nullptr);
  j["signal"] = signal ? nlohmann::json(signalName(*signal)) : nlohmann::json(nullptr);
  j["oom_killed"] = oom_killed;
  j["started_at"] = rfc3339(started_at);
  j["exited_at"] = rfc3339(exited_at);
  j["last_lines"] = last_lines;
  return j;
}

ExitRecord exitRecordFromWaitStatus(int wait_status) {
  ExitRecord r;
  if (WIFEXITED(wait_status)) r.code = WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) r.signal = WTERMSIG(wait_status);
  return r;
}

std::string rfc3339(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[80];
  snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
           static_cast<int>(ms % 1000));
  return buf;
}

Status writeFileAtomic(const std::string& path, std::string_view content, unsigned mode) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Error{ErrorCode::kInternal, "open " + tmp + ": " + strerror(errno)};
  ::fchmod(fd, mode);  // the umask must not widen or narrow what the reader expects
  while (!content.empty()) {
    ssize_t n = ::write(fd, content.data(), content.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Error err{ErrorCode::kInternal, "write " + tmp + ": " + strerror(errno)};
      ::close(fd);
      ::unlink(tmp.c_str());
      return err;
    }
    content.remove_prefix(static_cast<size_t>(n));
  }
  ::fsync(fd);
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Error err{ErrorCode::kInternal, "rename " + tmp + ": " + strerror(errno)};
    ::unlink(tmp.c_str());
    return err;
  }
  return {};
}

}  // namespace zlh::agent::shim
