#include "plugins/console/shell_pty.h"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

namespace zlh::plugins::console {
namespace sdk = agent::sdk;

struct ShellPty::Shared : std::enable_shared_from_this<Shared> {
  Post post;
  Callbacks cb;
  int master = -1;
  int wake = -1;
  pid_t pid = -1;  // the reader thread's once it runs

  std::mutex mu;
  std::string input;     // toward the PTY
  size_t in_flight = 0;  // output posted, not yet consumed
  bool stopping = false;  // the owner is gone: post nothing more, hang up, reap

  bool closed = false;  // owner's thread only: posted tasks do nothing once set

  ~Shared() {
    if (master >= 0) ::close(master);
    if (wake >= 0) ::close(wake);
  }
  void wakeUp() const {
    uint64_t one = 1;
    (void)!::write(wake, &one, sizeof one);
  }
  /// Posts `fn` unless the owner is gone. Caller holds mu.
  void postLocked(std::function<void(Shared&)> fn) {
    if (stopping) return;
    post([self = shared_from_this(), fn = std::move(fn)] {
      if (!self->closed) fn(*self);
    });
  }
  void run();
  void hangUpAndReap();
};

void ShellPty::Shared::run() {
  std::string buf(64 * 1024, '\0');
  bool eof = false;
  for (;;) {
    bool want_read = false, want_write = false;
    {
      std::lock_guard lk(mu);
      if (stopping) break;
      want_read = !eof && in_flight < kMaxInFlight;
      want_write = !eof && !input.empty();
    }
    if (eof) {
      // The PTY is closed on the shell's side: reap it (it may linger a moment after closing).
      int status = 0;
      pid_t r = ::waitpid(pid, &status, WNOHANG);
      if (r == pid || (r < 0 && errno == ECHILD)) {
        std::lock_guard lk(mu);
        postLocked([status](Shared& s) { s.cb.on_exit(status); });
        pid = -1;
        return;
      }
    }
    pollfd fds[2] = {{wake, POLLIN, 0},
                     {master, static_cast<short>((want_read ? POLLIN : 0) | (want_write ? POLLOUT : 0)), 0}};
    int n = ::poll(fds, eof ? 1 : 2, eof ? 50 : -1);
    if (n < 0 && errno != EINTR) break;
    if (fds[0].revents & POLLIN) {
      uint64_t v;
      (void)!::read(wake, &v, sizeof v);
    }
    if (eof) continue;
    if (fds[1].revents & POLLOUT) {
      std::lock_guard lk(mu);
      ssize_t w = ::write(master, input.data(), input.size());
      if (w > 0) input.erase(0, static_cast<size_t>(w));
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t r = ::read(master, buf.data(), buf.size());
      if (r > 0) {
        std::lock_guard lk(mu);
        in_flight += static_cast<size_t>(r);
        postLocked([chunk = buf.substr(0, static_cast<size_t>(r))](Shared& s) mutable {
          s.cb.on_output(std::move(chunk));
        });
      } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        eof = true;  // EIO: every holder of the slave side closed it
      }
    }
  }
  hangUpAndReap();
}

void ShellPty::Shared::hangUpAndReap() {
  if (pid <= 0) return;
  ::kill(-pid, SIGHUP);
  ::kill(pid, SIGHUP);
  ::kill(-pid, SIGCONT);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      (void)::waitpid(pid, &status, 0);
      break;
    }
    ::poll(nullptr, 0, 20);  // a process's exit has no fd to wait on here
  }
  pid = -1;
}

sdk::Result<std::unique_ptr<ShellPty>> ShellPty::start(const Options& o, Post post,
                                                       Callbacks callbacks) {
  if (o.argv.empty() || o.argv[0].empty() || o.argv[0][0] != '/')
    return sdk::makeError(sdk::ErrorCode::kInvalidArgument, "shell: an absolute program path is required");
  if (::access(o.argv[0].c_str(), X_OK) != 0)
    return sdk::makeError(sdk::ErrorCode::kFailedPrecondition,
                          "shell " + o.argv[0] + " is not executable: " + std::strerror(errno));
  // Everything the child needs is built before fork: after it, only async-signal-safe calls.
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : o.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> argv, envp;
  for (const auto& a : o.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  const std::string cwd = o.cwd.string();

  auto shared = std::make_shared<Shared>();
  shared->post = std::move(post);
  shared->cb = std::move(callbacks);
  shared->wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (shared->wake < 0)
    return sdk::makeError(sdk::ErrorCode::kInternal, std::string("eventfd: ") + std::strerror(errno));
  winsize ws{};
  ws.ws_col = o.cols;
  ws.ws_row = o.rows;
  int master = -1;
  pid_t pid = ::forkpty(&master, nullptr, nullptr, &ws);
  if (pid < 0)
    return sdk::makeError(sdk::ErrorCode::kInternal, std::string("forkpty: ") + std::strerror(errno));
  if (pid == 0) {
    // The child: a new session with the PTY as its controlling terminal (forkpty did that).
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, nullptr);
    for (int sig = 1; sig < NSIG; ++sig) signal(sig, SIG_DFL);  // ignored ones survive exec
    ::close_range(3, ~0U, 0);
    if (::chdir(cwd.c_str()) != 0) {
      static const char kMsg[] = "zlh: cannot enter the instance directory\r\n";
      (void)!::write(2, kMsg, sizeof kMsg - 1);
      ::_exit(126);
    }
    ::execve(argv[0], argv.data(), envp.data());
    static const char kMsg[] = "zlh: cannot start the shell\r\n";
    (void)!::write(2, kMsg, sizeof kMsg - 1);
    ::_exit(127);
  }
  ::fcntl(master, F_SETFD, FD_CLOEXEC);
  ::fcntl(master, F_SETFL, ::fcntl(master, F_GETFL) | O_NONBLOCK);
  shared->master = master;
  shared->pid = pid;
  std::thread([shared] { shared->run(); }).detach();
  return std::unique_ptr<ShellPty>(new ShellPty(std::move(shared), pid));
}

ShellPty::~ShellPty() {
  shared_->closed = true;
  {
    std::lock_guard lk(shared_->mu);
    shared_->stopping = true;
  }
  shared_->wakeUp();
}

bool ShellPty::write(std::string_view bytes) {
  {
    std::lock_guard lk(shared_->mu);
    if (shared_->input.size() + bytes.size() > kMaxInput) return false;
    shared_->input.append(bytes);
  }
  shared_->wakeUp();
  return true;
}

sdk::Status ShellPty::resize(uint16_t cols, uint16_t rows) {
  winsize ws{};
  ws.ws_col = cols;
  ws.ws_row = rows;
  if (::ioctl(shared_->master, TIOCSWINSZ, &ws) != 0)
    return sdk::makeError(sdk::ErrorCode::kInternal, std::string("TIOCSWINSZ: ") + std::strerror(errno));
  return {};
}

void ShellPty::consumed(size_t n) {
  bool wake = false;
  {
    std::lock_guard lk(shared_->mu);
    wake = shared_->in_flight >= kMaxInFlight;
    shared_->in_flight -= std::min(n, shared_->in_flight);
  }
  if (wake) shared_->wakeUp();
}

pid_t ShellPty::pid() const { return pid_; }

}  // namespace zlh::plugins::console
