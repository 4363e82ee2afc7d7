#include "agent/core/supervisor/shim_launcher.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "agent/shim/shim_client.h"

namespace zlh::agent::core {
namespace fs = std::filesystem;
namespace {

constexpr size_t kMaxStderr = 16 * 1024;

sdk::Error sysError(const std::string& what) {
  return sdk::makeError(sdk::ErrorCode::kInternal, what + ": " + std::strerror(errno));
}

// In the forked child: only async-signal-safe calls until exec.
[[noreturn]] void execLauncher(int devnull, int err_fd, long max_fd, char* const argv[]) {
  ::dup2(devnull, 0);
  ::dup2(devnull, 1);
  ::dup2(err_fd, 2);
  // The shim daemon lives for days: it must not keep the agent's sockets or files open.
  if (::close_range(3, ~0U, 0) != 0)
    for (long fd = 3; fd < max_fd; ++fd) ::close(static_cast<int>(fd));
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execv(argv[0], argv);
  const char msg[] = "zlh-agent: cannot execute the shim launcher\n";
  (void)!::write(2, msg, sizeof msg - 1);
  ::_exit(126);
}

void readAvailable(int fd, std::string& out) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return;
    if (out.size() < kMaxStderr)
      out.append(buf, std::min(static_cast<size_t>(n), kMaxStderr - out.size()));
  }
}

}  // namespace

sdk::Result<LaunchOutcome> runShimLauncher(const fs::path& shim_path, const fs::path& spec_file,
                                           std::chrono::milliseconds timeout) {
  std::string bin = shim_path.string(), flag = "--spec", spec = spec_file.string();
  std::vector<char*> argv{bin.data(), flag.data(), spec.data(), nullptr};
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return sysError("pipe");
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0) {
    ::close(err_pipe[0]);
    ::close(err_pipe[1]);
    return sysError("open /dev/null");
  }
  long max_fd = std::min(::sysconf(_SC_OPEN_MAX), 65536L);
  pid_t pid = ::fork();
  if (pid == 0) execLauncher(devnull, err_pipe[1], max_fd, argv.data());
  int fork_errno = errno;
  ::close(err_pipe[1]);
  ::close(devnull);
  if (pid < 0) {
    ::close(err_pipe[0]);
    errno = fork_errno;
    return sysError("fork");
  }
  LaunchOutcome out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    pollfd p{err_pipe[0], POLLIN, 0};
    ::poll(&p, 1, 20);
    readAvailable(err_pipe[0], out.stderr_text);
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) {
      ::close(err_pipe[0]);
      return sysError("waitpid");
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      ::close(err_pipe[0]);
      return sdk::makeError(sdk::ErrorCode::kDeadlineExceeded,
                            "zlh-shim launcher did not finish within " +
                                std::to_string(timeout.count()) + " ms (killed)");
    }
  }
  readAvailable(err_pipe[0], out.stderr_text);
  ::close(err_pipe[0]);
  if (WIFEXITED(status)) {
    out.exit_code = WEXITSTATUS(status);
  } else {
    return sdk::makeError(sdk::ErrorCode::kInternal,
                          "zlh-shim launcher killed by signal " +
                              std::to_string(WIFSIGNALED(status) ? WTERMSIG(status) : 0));
  }
  while (!out.stderr_text.empty() &&
         (out.stderr_text.back() == '\n' || out.stderr_text.back() == '\r'))
    out.stderr_text.pop_back();
  return out;
}

sdk::Result<nlohmann::json> probeShim(const fs::path& socket, std::chrono::milliseconds timeout) {
  auto client = shim::ShimClient::connect(socket.string());
  if (!client.ok()) return client.error();
  return client.value().status(timeout);
}

fs::path defaultShimPath() {
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "/usr/bin/zlh-shim";
  return exe.parent_path() / "zlh-shim";
}

}  // namespace zlh::agent::core
