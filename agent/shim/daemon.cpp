#include "agent/shim/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/shim/shim_client.h"

namespace zlh::agent::shim {
namespace {

Error sysError(const std::string& what) {
  return Error{ErrorCode::kInternal, what + ": " + strerror(errno)};
}

}  // namespace

Result<int> acquireInstanceLock(const ShimSpec& spec) {
  const std::string path = spec.lockPath();
  for (int attempt = 0; attempt < 5; ++attempt) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return sysError("open " + path);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) {
        return Error{ErrorCode::kConflict, "instance " + spec.instance_id +
                                               " is already served by a live shim (lock " + path +
                                               " is held)"};
      }
      errno = err;
      return sysError("lock " + path);
    }
    // The previous holder may have unlinked the file between our open and flock: then our lock
    // is on an orphaned inode and another shim could lock a new file. Retry on the new one.
    struct stat held {
    }, now{};
    if (::fstat(fd, &held) == 0 && ::stat(path.c_str(), &now) == 0 && held.st_ino == now.st_ino &&
        held.st_dev == now.st_dev) {
      if (auto client = ShimClient::connect(spec.socket); client.ok()) {
        ::close(fd);
        return Error{ErrorCode::kConflict,
                     "instance " + spec.instance_id + ": a live shim answers on " + spec.socket};
      }
      return fd;
    }
    ::close(fd);
  }
  return Error{ErrorCode::kUnavailable, "lock " + path + ": kept changing under us"};
}

Result<int> daemonize() {
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return sysError("pipe");
  pid_t first = ::fork();
  if (first < 0) return sysError("fork");
  if (first > 0) {
    ::close(ready[1]);
    int status = 0;
    while (::waitpid(first, &status, 0) < 0 && errno == EINTR) {
    }
    // The daemon's answer: one byte of exit code, then an optional message for our stderr.
    std::string answer;
    char buf[512];
    for (;;) {
      ssize_t n = ::read(ready[0], buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0 || answer.size() > 4096) break;
      answer.append(buf, static_cast<size_t>(n));
    }
    if (answer.size() > 1) {
      std::string line = "zlh-shim: " + answer.substr(1) + "\n";
      ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
      (void)ignored;
    }
    _exit(answer.empty() ? kExitFailure : static_cast<unsigned char>(answer[0]));
  }
  ::close(ready[0]);
  if (::setsid() < 0) _exit(kExitFailure);
  pid_t second = ::fork();
  if (second < 0) _exit(kExitFailure);
  if (second > 0) _exit(kExitOk);  // the daemon is re-parented to init
  if (::chdir("/") != 0) return sysError("chdir /");
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0) return sysError("open /dev/null");
  for (int fd = 0; fd <= 2; ++fd) ::dup2(devnull, fd);
  if (devnull > 2) ::close(devnull);
  return ready[1];
}

void reportReady(int fd, int exit_code, const std::string& message) {
  if (fd < 0) return;
  std::string answer(1, static_cast<char>(exit_code));
  answer += message;
  const char* p = answer.data();
  size_t left = answer.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
  ::close(fd);
}

}  // namespace zlh::agent::shim
