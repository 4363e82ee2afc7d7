#include "agent/shim/child_process.h"

#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <vector>

extern char** environ;

namespace zlh::agent::shim {
namespace {

// Only async-signal-safe calls from here on: this runs in the forked child.
void writeStderr(const char* a, const char* b, const char* c) {
  for (const char* s : {a, b, c}) {
    size_t n = strlen(s);
    while (n > 0) {
      ssize_t w = ::write(STDERR_FILENO, s, n);
      if (w <= 0) return;
      s += w;
      n -= static_cast<size_t>(w);
    }
  }
}

[[noreturn]] void runChild(int started_fd, int release_fd, const char* cwd, char** argv,
                           char** envp) {
  // Dispositions first, then the mask: a signal that arrived while blocked must meet SIG_DFL.
  for (int sig = 1; sig < NSIG; ++sig) signal(sig, SIG_DFL);  // ignored signals survive exec
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  // forkpty() has made us a session and process group leader: the shim may signal the group.
  char go = 0;
  ssize_t r;
  do {
    r = ::write(started_fd, &go, 1);
  } while (r < 0 && errno == EINTR);
  ::close(started_fd);
  do {
    r = ::read(release_fd, &go, 1);
  } while (r < 0 && errno == EINTR);
  ::close(release_fd);
  if (r != 1) _exit(127);  // the shim died before releasing us
  if (::chdir(cwd) != 0) {
    writeStderr("zlh-shim: chdir ", cwd, ": ");
    writeStderr(strerror(errno), "\n", "");
    _exit(127);
  }
  environ = envp;  // execvp searches the PATH of the child's own environment
  ::execvp(argv[0], argv);
  int err = errno;
  writeStderr("zlh-shim: exec ", argv[0], ": ");
  writeStderr(strerror(err), "\n", "");
  _exit(err == EACCES || err == ENOEXEC ? 126 : 127);
}

// Reads one byte, retrying on EINTR.
bool readByte(int fd) {
  char c;
  ssize_t r;
  do {
    r = ::read(fd, &c, 1);
  } while (r < 0 && errno == EINTR);
  return r == 1;
}

}  // namespace

std::vector<std::string> childEnvironment(const ShimSpec& spec) {
  std::vector<std::string> env;
  for (const auto& [k, v] : spec.env) env.push_back(k + "=" + v);
  if (!spec.env.count("TERM")) env.push_back("TERM=xterm-256color");
  return env;
}

Result<ChildProcess> spawnChild(const ShimSpec& spec, Cgroup& cgroup, std::string& cgroup_error) {
  std::vector<char*> argv;
  for (const auto& a : spec.command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  auto env_strings = childEnvironment(spec);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  // Two pipes: the child says it leads its session (so its process group can be signalled),
  // the shim releases it once it is in its cgroup.
  int started[2], release[2];
  if (::pipe2(started, O_CLOEXEC) != 0) {
    return Error{ErrorCode::kInternal, std::string("pipe: ") + strerror(errno)};
  }
  if (::pipe2(release, O_CLOEXEC) != 0) {
    int err = errno;
    ::close(started[0]);
    ::close(started[1]);
    return Error{ErrorCode::kInternal, std::string("pipe: ") + strerror(err)};
  }
  struct winsize ws {};
  ws.ws_col = spec.cols;
  ws.ws_row = spec.rows;
  int master = -1;
  pid_t pid = ::forkpty(&master, nullptr, nullptr, &ws);
  if (pid < 0) {
    int err = errno;
    for (int fd : {started[0], started[1], release[0], release[1]}) ::close(fd);
    return Error{ErrorCode::kInternal, std::string("forkpty: ") + strerror(err)};
  }
  if (pid == 0) {
    ::close(started[0]);
    ::close(release[1]);
    runChild(started[1], release[0], spec.cwd.c_str(), argv.data(), envp.data());
  }
  ::close(started[1]);
  ::close(release[0]);
  (void)readByte(started[0]);  // EOF instead means the child died: its exit is reported anyway
  ::close(started[0]);
  ::fcntl(master, F_SETFD, FD_CLOEXEC);
  ::fcntl(master, F_SETFL, ::fcntl(master, F_GETFL) | O_NONBLOCK);
  if (cgroup.active()) {
    if (auto joined = cgroup.addProcess(pid); !joined.ok()) {
      cgroup_error = joined.error().message;
      (void)cgroup.remove();
    }
  }
  // Release the child: it execs only now, inside its cgroup.
  ssize_t w;
  do {
    w = ::write(release[1], "x", 1);
  } while (w < 0 && errno == EINTR);
  ::close(release[1]);
  return ChildProcess{pid, master};
}

}  // namespace zlh::agent::shim
